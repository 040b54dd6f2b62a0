"""microgpt.py as a user meets it: one file that reads as the reference does and runs on the
standard library alone, and every bad input a new user makes: one line, exit status 1, no traceback,
no file made or changed. (The unmodified file's whole default run is test_whole_run.py's.)"""
import http.server, os, pathlib, shutil, socket, sys, tempfile, threading, unittest
from unittest import mock

import harness

# How the reference's own five lines over 100 characters start: this file keeps them as they are.
REFERENCE_LONG_LINES = ['    def __pow__(self, other):', 'matrix = lambda nout, nin, std=0.02:',
                        "state_dict = {'wte':", '            attn_logits = [',
                        '            head_out = [']
INT, UNIT = 'an int above 0', 'an int or a float from 0 to below 1'
REAL = 'an int or a float from 1e-100 to below 1e+100'
# (setting, a mistake a learner makes, what the one line says): each stops the run before any work.
SETTING_MISTAKES = [('n_embd', 15, 'n_embd (15) must be divisible by n_head (4)'),
                    ('n_head', 3, 'n_embd (16) must be divisible by n_head (3)')] + [
    (name, value, f'{name} must be {kind}, not {value!r}') for name, value, kind in [
        ('n_embd', 0, INT), ('n_head', -4, INT), ('n_layer', True, INT), ('block_size', 8.5, INT),
        ('block_size', '8', INT), ('num_steps', 5e2, INT), ('temperature', 0, REAL),
        ('temperature', '0.5', REAL), ('temperature', float('nan'), REAL),
        ('temperature', 1e-310, REAL), ('temperature', 10**400, REAL),
        ('learning_rate', True, REAL), ('learning_rate', float('inf'), REAL),
        ('eps_adam', 10**400, REAL), ('beta1', 1.0, UNIT),
        ('beta2', '0.95', UNIT), ('input_path', 0, 'a path'), ('input_path', None, 'a path')]]


def snapshot(folder):
    """Every name in the folder, with each file's bytes: to show a run made or changed none."""
    paths = {name: os.path.join(folder, name) for name in os.listdir(folder)}
    return {name: pathlib.Path(p).read_bytes() if os.path.isfile(p) else p
            for name, p in paths.items()}


class OneSitting(unittest.TestCase):
    """It reads as the reference does: its line widths, its cells in order, its spacing."""
    lines = harness.read(harness.SCRIPT).splitlines()

    def test_no_line_over_100_characters_but_the_references_five_nor_any_under_tests(self):
        long = [line for line in self.lines if len(line) > 100]
        self.assertEqual([line[:len(s)] for line, s in zip(long, REFERENCE_LONG_LINES)] + long[5:],
                         REFERENCE_LONG_LINES)  # those five, and no other
        python = [os.path.join(top, name) for top, _, names in os.walk(harness.ROOT + '/tests')
                  for name in sorted(names) if name.endswith('.py')]
        wide = [f'{os.path.relpath(path, harness.ROOT)}:{no}' for path in python
                for no, line in enumerate(harness.read(path).split('\n'), 1)
                if len(line) > 100 and not ('/ladder/' in path and line in long)]  # its own five
        self.assertEqual(wide, [])

    def test_the_references_cells_in_its_order_each_opened_by_a_comment_after_a_blank_line(self):
        starts = [i for i, line in enumerate(self.lines) if line.startswith('# %%')]
        self.assertEqual([self.lines[i][5:] for i in starts], [
            'Settings', 'Data', 'Tokenizer', 'Autograd', 'Parameters', 'Model', 'Training',
            'Inference'])
        for i in starts:
            self.assertEqual(self.lines[i - 1], '', self.lines[i])
            self.assertTrue(self.lines[i + 1].startswith('# '), self.lines[i])
            self.assertFalse(self.lines[i + 2].startswith('#'), self.lines[i])

    def test_a_blank_line_before_every_function_that_follows_code_but_check(self):
        for i, line in enumerate(self.lines):
            nested = line.startswith('        ')  # backward's build_topo, as the reference has it
            if line.lstrip().startswith(('def ', 'class ')) and ': return ' not in line \
                    and not nested:
                before = self.lines[i - 1].lstrip()
                self.assertTrue(before == '' or before.startswith(('#', 'class ', 'import ')),
                                f'line {i + 1}: {line}')

    def test_backward_is_the_references_recursive_build_topo(self):
        text = harness.read(harness.SCRIPT)
        walk = ['        topo = []', '        visited = set()', '        def build_topo(v):',
                '            if v not in visited:', '                visited.add(v)',
                '                for child in v._children:',
                '                    build_topo(child)',
                '                topo.append(v)', '        build_topo(self)']
        self.assertIn('\n'.join(walk), '\n'.join(line.split('  #')[0] for line in text.split('\n')))

    def test_it_runs_isolated_with_no_site_packages_on_cpython_and_pypy(self):
        # python3 -I -S: no user or site packages, no environment variables: the standard library
        pythons = [sys.executable] + ([shutil.which('pypy3')] if shutil.which('pypy3') else [])
        for python in pythons:
            with self.subTest(python=python), tempfile.TemporaryDirectory() as d:
                harness.prepare(d, data=harness.SMALL_NAMES, num_steps=5)
                p = harness.execute(d, python=python, flags=('-I', '-S'))
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(len(harness.samples(p.stdout)), 20)
        if len(pythons) == 1:
            self.skipTest('pypy3 is not installed (CI installs it): ran on CPython only')


class BadInput(unittest.TestCase):
    def run_bad(self, expect, env=None, **kw):
        """Run in a fresh folder: exit 1, one line on stderr holding `expect`, the folder as it
        was, and no training step."""
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, **kw)
            before = snapshot(d)
            p = harness.execute(d, timeout=120, env=env)
            p.stderr = p.stderr.replace(os.path.realpath(d), 'FOLDER')  # the full path, shortened
            self.assertEqual(snapshot(d), before, 'the run made or changed a file')
        self.assertEqual((p.returncode, p.stderr.count('\n')), (1, 1), p.stderr)  # no traceback
        self.assertIn(expect, p.stderr)
        self.assertEqual(harness.losses(p.stdout), [])
        return p

    def test_a_dataset_that_is_empty_blank_not_utf8_a_folder_or_no_name(self):
        for expect, kw in [
                ('input.txt has no names in it', dict(raw=b'')),
                ('input.txt has no names in it', dict(raw=b'  \n\n\t\r\n \n')),
                ("cannot read FOLDER/input.txt: 'utf-8' codec can't decode byte 0xe9 in position",
                 dict(raw=b'anna\nbob\nb\xe9a\n')),
                ("cannot read FOLDER: [Errno 21] Is a directory: '.'", dict(input_path='.')),
                ("cannot read FOLDER: [Errno 2] No such file or directory: ''",
                 dict(input_path=''))]:
            with self.subTest(expect=expect):
                self.run_bad(expect, **kw)

    def test_a_broken_link_named_input_txt_is_named_and_never_replaced(self):
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, names_url='http://127.0.0.1:9/never-asked')
            os.symlink('/nowhere/mine.txt', os.path.join(d, 'input.txt'))
            p = harness.execute(d)
            self.assertEqual((sorted(os.listdir(d)), os.readlink(os.path.join(d, 'input.txt'))),
                             (['input.txt', 'microgpt.py'], '/nowhere/mine.txt'))
        self.assertEqual((p.returncode, p.stderr), (1, 'microgpt: cannot read /nowhere/mine.txt: '
                         "[Errno 2] No such file or directory: 'input.txt'\n"))

    def test_each_impossible_setting_is_named_before_any_work(self):
        for setting, value, expect in SETTING_MISTAKES:
            with self.subTest(setting=setting, value=value):
                p = self.run_bad(expect, data=harness.SMALL_NAMES, **{setting: value})
                self.assertEqual(p.stdout, '')  # not even the data is read

    def test_numbers_and_paths_a_learner_means_are_taken_and_others_say_why_not(self):
        # A float subclass (NumPy's float64 is one) and a pathlib.Path work as a float and a str;
        # a Fraction or a Decimal is refused, saying what it must be.
        ok = {'learning_rate': "type('float64', (float,), {})(0.01)",
              'input_path': "__import__('pathlib').Path('input.txt')"}
        p = harness.run(data=harness.SMALL_NAMES, 
                        text=harness.source(codes=dict(ok, num_steps='2')))
        self.assertEqual((p.returncode, len(harness.samples(p.stdout))), (0, 20), p.stderr)
        for code, shown in [("__import__('fractions').Fraction(1, 100)", 'Fraction(1, 100)'),
                            ("__import__('decimal').Decimal('0.01')", "Decimal('0.01')")]:
            with self.subTest(code=code):
                self.run_bad(f'microgpt: learning_rate must be {REAL}, not {shown}\n',
                             data=harness.SMALL_NAMES,
                             text=harness.source(codes={'learning_rate': code}))

    def test_a_model_too_big_or_too_deep_is_refused_once_the_data_is_read(self):
        for settings in (dict(n_embd=1024), dict(n_layer=100), dict(n_layer=12, n_embd=128)):
            with self.subTest(**settings):
                p = self.run_bad('microgpt: too big to fit: lower n_embd or n_layer',
                                 data=harness.SMALL_NAMES, **settings)
                self.assertNotIn('num params', p.stdout)  # before a single weight is drawn

    def test_the_memory_it_measures_against_is_this_machines_or_8_gb_where_python_cannot_say(self):
        tiny = mock.patch('os.sysconf', lambda name: 4096)  # pages of 4 KB, 4096 of them: 16 MB
        windows = mock.patch('os.name', 'nt')  # no os.sysconf to ask: 8 GB, short of this machine's
        for patch, settings, refused in [(tiny, dict(block_size=1), False), (tiny, {}, True),
                                         (windows, {}, False), (windows, dict(n_embd=512), True)]:
            with self.subTest(settings=settings, refused=refused), patch:
                if refused:
                    with self.assertRaises(SystemExit):
                        harness.load('Parameters', **settings)
                else:
                    self.assertIn('num params', harness.load('Parameters', **settings)['_stdout'])

    def test_a_dataset_this_terminal_cannot_print_stops_before_training(self):
        env = dict(os.environ, PYTHONIOENCODING='ascii')
        p = self.run_bad('microgpt: this terminal cannot print all of input.txt: set '
                         'PYTHONIOENCODING=utf-8, run again', env=env,
                         data=['zoë', 'josé', 'anna'])
        self.assertIn('vocab size: 9', p.stdout)  # (with utf-8 it trains: OddButValidText)

    def test_a_learning_rate_too_high_ends_in_one_line_naming_the_step_and_the_setting(self):
        # The loss blows up within a few steps: a probability rounds to exactly 0 (math.log would
        # raise) or becomes nan; each ends the same way, after the steps before it printed.
        for rate in (0.3, 10, 1e50):
            with self.subTest(learning_rate=rate), tempfile.TemporaryDirectory() as d:
                p = harness.run(d, data=harness.SMALL_NAMES, learning_rate=rate)
                self.assertRegex(p.stderr, r'^microgpt: loss diverged at step \d+: lower '
                                           r'learning_rate\n$')
                step = int(p.stderr.split('step ')[1].split(':')[0])
                self.assertEqual((p.returncode, len(harness.losses(p.stdout))), (1, step - 1))


class Download(unittest.TestCase):
    """input.txt missing: it is downloaded, or one line says why not, and nothing is left behind.
    A local server stands in for the network: /names.txt whole, anything else cut off."""

    @classmethod
    def setUpClass(cls):
        body, cls.requests = ('\n'.join(harness.SMALL_NAMES) + '\n').encode(), []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                cls.requests.append(self.path)
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body if self.path == '/names.txt' else body[:len(body) // 10])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)  # a cut-off download promised more

            def log_message(self, *args):
                pass
        cls.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        cls.url = f'http://127.0.0.1:{cls.server.server_address[1]}'
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def run_missing(self, **settings):
        with tempfile.TemporaryDirectory() as d:
            p = harness.run(d, num_steps=3, **settings)
            p.stderr = p.stderr.replace(os.path.realpath(d), 'FOLDER')  # the full path, shortened
            files = sorted(os.listdir(d))
            path = os.path.join(d, 'input.txt')
            names = harness.read(path).split() if 'input.txt' in files else []
            return p, files, names

    def test_downloads_when_missing_then_trains(self):
        p, files, names = self.run_missing(names_url=self.url + '/names.txt')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('num docs: 45', p.stdout)
        self.assertEqual((files, names), (['input.txt', 'microgpt.py'], harness.SMALL_NAMES))

    def test_a_cut_off_or_refused_download_is_one_line_and_leaves_nothing(self):
        # Cut off, the part already written (as when the disk fills) goes; refused, as with no
        # network (nothing listens on port 9), nothing was written.
        for url, expect in [(self.url + '/cut', 'retrieval incomplete'),
                            ('http://127.0.0.1:9/names.txt', '<urlopen error')]:
            with self.subTest(url=url):
                p, files, _ = self.run_missing(names_url=url)
                self.assertEqual((p.returncode, files), (1, ['microgpt.py']))
                self.assertRegex(p.stderr, f'^microgpt: cannot read FOLDER/input.txt: .*{expect}')

    def test_a_missing_file_that_is_not_input_txt_is_never_fetched_even_with_a_network(self):
        before = len(self.requests)
        p, files, _ = self.run_missing(input_path='functions.txt',
                                       names_url=self.url + '/names.txt')
        self.assertEqual((len(self.requests), files, p.returncode), (before, ['microgpt.py'], 1))
        self.assertEqual(p.stderr, "microgpt: cannot read FOLDER/functions.txt: [Errno 2] No such "
                                   "file or directory: 'functions.txt'\n")


class OddButValidText(unittest.TestCase):
    def test_a_byte_order_mark_reads_as_if_it_were_not_there(self):
        # Windows Notepad starts UTF-8 files with the mark U+FEFF; it must not become a token.
        plain = ('\n'.join(harness.SMALL_NAMES) + '\n').encode('utf-8')
        outs = [harness.run(raw=raw, num_steps=10, n_embd=4, n_head=2).stdout
                for raw in (plain, b'\xef\xbb\xbf' + plain)]
        self.assertIn('vocab size: 24', outs[1])
        self.assertEqual(outs[0], outs[1])

    def test_old_mac_and_windows_line_endings_unicode_and_long_names(self):
        names = ['zoë', 'josé', 'łukasz', '日本語の名前です長い名前', 'انا', 'averyveryverylongname',
                 'x']
        for raw, count, chars in [(b'anna\rbob\rcarl\r', 3, set('anbocrl')),
                                  ('\r\n'.join(names).encode('utf-8') + b'\r\n', len(names),
                                   set(''.join(names)))]:
            with self.subTest(raw=raw[:12]):
                p = harness.run(raw=raw, num_steps=20, n_embd=4, n_head=2)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn(f'num docs: {count}', p.stdout)
                self.assertIn(f'vocab size: {len(chars) + 1}', p.stdout)  # no '\r' became a token
                self.assertEqual(len(harness.samples(p.stdout)), 20)


if __name__ == '__main__':
    unittest.main()
