"""microgpt.py as a user meets it: one file that reads as the reference does and runs on the
standard library alone; a mistake that would be silent, surface after training, or cost the run or
the machine is one line naming the setting, exit 1, before any work (divergence: at its step); any
other is Python's own error, before the first step, with nothing written. (The unmodified file's
whole default run is test_whole_run.py's.)"""
import http.server, os, pathlib, shutil, socket, sys, tempfile, threading, unittest
from unittest import mock

import harness

# How the reference's own five lines over 100 characters start: this file keeps them as they are.
REFERENCE_LONG_LINES = ['    def __pow__(self, other):', 'matrix = lambda nout, nin, std=0.02:',
                        "state_dict = {'wte':", '            attn_logits = [',
                        '            head_out = [']
NAMES_URL = 'https://raw.githubusercontent.com/karpathy/makemore/refs/heads/master/names.txt'

def failed(test, env=None, **kw):
    """Run in a fresh folder, on SMALL_NAMES unless kw brings data: exit 1, no step, nothing
    made or changed. The CompletedProcess."""
    kw.setdefault('data', None if 'raw' in kw else harness.SMALL_NAMES)
    with tempfile.TemporaryDirectory() as d:
        harness.prepare(d, **kw)
        before = harness.files(d)
        p = harness.execute(d, timeout=120, env=env)
        test.assertEqual(harness.files(d), before, 'the run made or changed a file')
    test.assertEqual((p.returncode, harness.losses(p.stdout)), (1, []), p.stderr)
    return p

class OneSitting(unittest.TestCase):
    """It reads as the reference does: its line widths, its cells in order, its backward()."""
    lines = harness.read(harness.SCRIPT).splitlines()

    def test_no_line_over_100_characters_but_the_references_five_nor_any_under_tests(self):
        long = [line for line in self.lines if len(line) > 100]
        self.assertEqual([line[:len(s)] for line, s in zip(long, REFERENCE_LONG_LINES)] + long[5:],
                         REFERENCE_LONG_LINES)  # those five, and no other
        wide = [f'{path.relative_to(harness.ROOT)}:{no}'  # the ladder may hold those five
                for path in sorted(pathlib.Path(harness.ROOT, 'tests').rglob('*.py'))
                for no, line in enumerate(harness.read(path).split('\n'), 1)
                if len(line) > 100 and not ('ladder' in path.parts and line in long)]
        self.assertEqual(wide, [])

    def test_the_references_cells_in_its_order_each_opened_by_a_comment_after_a_blank_line(self):
        cells = harness.cells(harness.read(harness.SCRIPT))
        self.assertEqual([title for title, _ in cells[1:]], 'Settings Data Tokenizer Autograd '
                         'Parameters Model Training Inference'.split())
        for (_, before), (title, code) in zip(cells, cells[1:]):  # blank, marker, comment, code
            self.assertRegex(before[-2:] + code, r'^\n\n# %%[^\n]*\n# [^\n]*\n(?!#)', title)

    def test_backward_is_the_references_recursive_build_topo(self):
        walk = ['    def backward(self):', '        topo = []', '        visited = set()',
                '        def build_topo(v):', '            if v not in visited:',
                '                visited.add(v)', '                for child in v._children:',
                '                    build_topo(child)', '                topo.append(v)',
                '        build_topo(self)']
        self.assertIn('\n'.join(walk), '\n'.join(line.split('  #')[0] for line in self.lines))

    def test_it_runs_isolated_with_no_site_packages_under_cpython_and_pypy(self):
        for python in (sys.executable, shutil.which('pypy3')):  # -I -S: no site packages, no env
            with self.subTest(python=python), tempfile.TemporaryDirectory() as d:
                if python is None:
                    self.skipTest('pypy3 is not installed (CI installs it)')
                harness.prepare(d, data=harness.SMALL_NAMES, num_steps=5)
                p = harness.execute(d, python=python, flags=('-I', '-S'))
                self.assertEqual((p.returncode, len(harness.samples(p.stdout))), (0, 20), p.stderr)

class OneLine(unittest.TestCase):  # each mistake: that one line alone on stderr, no traceback
    def test_a_silent_mistake_or_one_that_would_surface_after_training(self):
        terminal = 'this terminal cannot show all of input.txt: set PYTHONIOENCODING=utf-8'
        on = lambda e: dict(data=['zoë', 'josé', 'anna'], env=dict(os.environ, PYTHONIOENCODING=e))
        for expect, kw in [('n_embd must be divisible by n_head', dict(n_head=3)),
                           ('n_embd must be divisible by n_head', dict(n_embd=15)),
                           ('temperature must be above 0', dict(temperature=0)),
                           ('temperature must be above 0', dict(temperature=float('nan'))),
                           ('learning_rate must be above 0', dict(learning_rate=-1e-3)),
                           ('learning_rate must be above 0', dict(learning_rate=0)),
                           (terminal, on('ascii')), (terminal, on('ascii:replace'))]:
            with self.subTest(expect=expect, **{k: v for k, v in kw.items() if k != 'env'}):
                self.assertEqual(failed(self, **kw).stderr, f'microgpt: {expect}\n')

    def test_a_model_too_big_for_memory_or_the_stack_names_the_setting_to_lower(self):
        many = [chr(0x4e00 + i) for i in range(6000)]  # 6,000 distinct characters: a deep softmax
        for fix, kw in [('lower n_embd or n_layer', dict(n_embd=1024)),
                        ('lower n_embd or n_layer', dict(n_layer=300)),
                        ('lower block_size', dict(block_size=2000, data=['a' * 3000])),
                        ('fewer characters in input', dict(data=many))]:
            with self.subTest(fix=fix, **{k: v for k, v in kw.items() if k != 'data'}):
                p = failed(self, **kw)
                self.assertEqual(p.stderr, f'microgpt: too big for this machine: {fix}\n')
                self.assertNotIn('num params', p.stdout)  # before a single weight is drawn

    def test_the_memory_it_measures_against_is_this_machines_or_8_gb_where_python_cannot_say(self):
        tiny = mock.patch('os.sysconf', lambda name: 4096)  # pages of 4 KB, 4096 of them: 16 MB
        windows = mock.patch('os.name', 'nt')  # no os.sysconf to ask: 8 GB, short of this machine's
        for patch, settings, refused in [(tiny, dict(block_size=1), False), (tiny, {}, True),
                                         (windows, {}, False), (windows, dict(n_embd=512), True)]:
            with self.subTest(settings=settings, refused=refused), patch:
                if refused:
                    self.assertRaises(SystemExit, harness.load, 'Parameters', **settings)
                else:
                    self.assertIn('num params', harness.load('Parameters', **settings)['_stdout'])

    def test_a_learning_rate_too_high_ends_in_one_line_naming_the_step_and_the_setting(self):
        for rate in (0.3, 1e50, 1e200, float('inf')):  # a probability 0 or NaN: nothing to learn
            with self.subTest(learning_rate=rate):
                p = harness.run(data=harness.SMALL_NAMES, learning_rate=rate)
                steps = len(harness.losses(p.stdout))  # all but the step that diverged
                want = f'microgpt: loss diverged at step {steps + 1}: lower learning_rate\n'
                self.assertEqual((p.returncode, p.stderr), (1, want))

class PythonsOwn(unittest.TestCase):
    def test_any_other_mistake_is_pythons_error_before_the_first_step_with_nothing_written(self):
        for error, kw in [('FileNotFoundError', dict(input_path='names.txt')),
                          ('IsADirectoryError', dict(input_path='.')),
                          ('UnicodeDecodeError', dict(raw=b'anna\nbob\nb\xe9a\n')),
                          ('TypeError', dict(temperature='0.5')),
                          ('TypeError', dict(n_embd=16.0)),
                          ('ZeroDivisionError', dict(beta1=1)),
                          ('ValueError', dict(raw=b'  \n\n\t\r\n \n')),  # no names: max() of none
                          ('ZeroDivisionError', dict(block_size=0))]:
            with self.subTest(error=error, **{k: v for k, v in kw.items() if k != 'raw'}):
                self.assertRegex(failed(self, **kw).stderr, rf'^Traceback[\s\S]*\n{error}.*\n?\Z')

class Download(unittest.TestCase):
    """input.txt missing: it is downloaded, whole or not at all. A local server stands in for the
    network: /names.txt whole, anything else cut off."""

    def run_missing(self, url, **settings):  # the run, and input.txt's bytes (None: no file)
        with tempfile.TemporaryDirectory() as d:
            p = harness.run(d, text=harness.source(num_steps=3, **settings).replace(NAMES_URL, url))
            return p, harness.files(d).get('input.txt')

    def test_whole_or_not_at_all_and_only_input_txt(self):
        body, requests = ('\n'.join(harness.SMALL_NAMES) + '\n').encode(), []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                requests.append(self.path)
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body if self.path == '/names.txt' else body[:len(body) // 10])
                self.connection.shutdown(socket.SHUT_RDWR)  # a cut-off download promised more

            log_message = lambda *args: None  # quiet
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)  # cleanups run last first: this one first
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f'http://127.0.0.1:{server.server_address[1]}'
        p, names = self.run_missing(url + '/names.txt')  # missing: fetched, then trained on
        self.assertEqual((p.returncode, names), (0, body), p.stderr)
        self.assertIn('num docs: 45', p.stdout)
        p, names = self.run_missing(url + '/cut')  # cut off: never becomes input.txt
        self.assertEqual((p.returncode, names), (1, None))
        self.assertIn('retrieval incomplete', p.stderr)
        before = len(requests)  # another name, missing: never fetched, Python's own error
        p, _ = self.run_missing(url + '/names.txt', input_path='functions.txt')
        self.assertEqual((len(requests), p.returncode), (before, 1))
        self.assertIn('FileNotFoundError', p.stderr)

class OddButValidText(unittest.TestCase):
    def test_a_byte_order_mark_old_mac_and_windows_line_endings_and_any_script(self):
        names = ['zoë', 'josé', 'łukasz', '日本語の名前です長い名前', 'انا', 'averylongname']
        bom = b'\xef\xbb\xbf' + '\n'.join(harness.SMALL_NAMES).encode()  # as Notepad may save it
        for raw, docs in [(bom, harness.SMALL_NAMES),
                          (b'anna\rbob\rcarl\r', ['anna', 'bob', 'carl']),
                          ('\r\n'.join(names).encode('utf-8') + b'\r\n', names)]:
            with self.subTest(raw=raw[:12]):  # the characters: no '\r' or BOM among them
                p = harness.run(raw=raw, num_steps=5, n_embd=4, n_head=2)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn(f'num docs: {len(docs)}', p.stdout)
                self.assertIn(f'vocab size: {len(set("".join(docs))) + 1}', p.stdout)
                self.assertEqual(len(harness.samples(p.stdout)), 20)

if __name__ == '__main__':
    unittest.main()
