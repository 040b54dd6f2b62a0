"""microgpt.py as a user meets it: one file that reads as the reference does and runs on the standard
library alone, and every bad input a new user makes: one line, exit status 1, no traceback, no file
made or changed. (The unmodified file's whole default run is test_golden.py's.)"""
import http.server, os, shutil, socket, sys, tempfile, threading, unittest

import harness

# The reference's own five lines longer than 100 characters, which this file keeps as they are.
REFERENCE_LONG_LINES = [
    "    def __pow__(self, other): return Value(self.data**other, (self,), (other * self.data**(other-1),))",
    "matrix = lambda nout, nin, std=0.02: [[Value(random.gauss(0, std)) for _ in range(nin)] for _ in range(nout)]",
    "state_dict = {'wte': matrix(vocab_size, n_embd), 'wpe': matrix(block_size, n_embd), 'lm_head': matrix(vocab_size, n_embd)}",
    "            attn_logits = [sum(q_h[j] * k_h[t][j] for j in range(head_dim)) / head_dim**0.5 for t in range(len(k_h))]",
    "            head_out = [sum(attn_weights[t] * v_h[t][j] for t in range(len(v_h))) for j in range(head_dim)]",
]
# (setting, a mistake a learner makes, what the one line says): each stops the run before any work.
SETTING_MISTAKES = [
    ('n_embd', 15, 'n_embd (15) must be divisible by n_head (4)'), ('n_head', 3, 'n_embd (16) must be divisible by n_head (3)'),
    ('n_embd', 0, 'n_embd must be a whole number above 0, not 0'), ('n_head', -4, 'n_head must be a whole number above 0, not -4'),
    ('n_layer', True, 'n_layer must be a whole number above 0, not True'),
    ('block_size', 8.5, 'block_size must be a whole number above 0, not 8.5'),
    ('block_size', '8', "block_size must be a whole number above 0, not '8'"),
    ('num_steps', 5e2, 'num_steps must be a whole number above 0, not 500.0'),
    ('n_embd', 10**9, 'too big to fit in memory: lower n_embd or n_layer')] + [
    (name, value, f'{name} must be a number from 1e-100 to 1e100, not {shown}') for name, value, shown in [
        ('temperature', 0, '0'), ('temperature', '0.5', "'0.5'"), ('temperature', float('nan'), 'nan'),
        ('temperature', 1e-310, '1e-310'), ('temperature', 10**400, '1000'), ('learning_rate', True, 'True'),
        ('learning_rate', float('inf'), 'inf'), ('eps_adam', 10**400, '1000')]] + [
    ('beta1', 1.0, 'beta1 must be >= 0 and < 1, not 1.0'), ('beta2', '0.95', "beta2 must be >= 0 and < 1, not '0.95'"),
    ('input_path', '', "input_path must name a file, not ''"), ('input_path', 0, 'input_path must name a file, not 0')]

def snapshot(folder):
    """Every file in the folder with its bytes (a folder as None): to show a run made or changed none."""
    files = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        with open(path, 'rb') if os.path.isfile(path) else open(os.devnull, 'rb') as f:
            files[name] = f.read()
    return files

class OneSitting(unittest.TestCase):
    """It reads as the reference does: its line widths, its cells in order, its spacing."""
    lines = harness.read(harness.SCRIPT).splitlines()

    def test_no_line_over_100_characters_but_the_references_own_five(self):
        self.assertEqual([line for line in self.lines if len(line) > 100], REFERENCE_LONG_LINES)

    def test_the_references_cells_in_its_order_each_opened_by_a_comment_after_a_blank_line(self):
        starts = [i for i, line in enumerate(self.lines) if line.startswith('# %%')]
        self.assertEqual([self.lines[i][5:] for i in starts], ['Settings', 'Data', 'Tokenizer', 'Autograd',
                                                               'Parameters', 'Model', 'Training', 'Inference'])
        for i in starts:
            self.assertEqual(self.lines[i - 1], '', self.lines[i])
            self.assertTrue(self.lines[i + 1].startswith('# ') and not self.lines[i + 2].startswith('#'))

    def test_a_blank_line_before_every_function_that_follows_code(self):
        for i, line in enumerate(self.lines):
            if line.lstrip().startswith(('def ', 'class ')) and ': return ' not in line:
                self.assertTrue(self.lines[i - 1] == '' or self.lines[i - 1].lstrip().startswith(('#', 'class ')),
                                f'line {i + 1}: {line}')

    def test_it_runs_isolated_with_no_site_packages_on_cpython_and_pypy(self):
        # python3 -I -S: no user or site packages, no environment variables: the standard library only
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
    def run_bad(self, expect, **kw):
        """Run in a fresh folder: exit 1, one line on stderr containing `expect`, the folder as it was."""
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, **kw)
            before = snapshot(d)
            p = harness.execute(d, timeout=120)
            p.stderr = p.stderr.replace(os.path.realpath(d), 'FOLDER')  # a message gives the full path
            self.assertEqual(snapshot(d), before, 'the run made or changed a file')
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)  # no traceback
        self.assertIn(expect, p.stderr)
        return p

    def test_a_dataset_that_is_empty_blank_not_utf8_a_folder_or_not_there(self):
        for expect, kw in [
                ('input.txt has no names in it', dict(raw=b'')),
                ('input.txt has no names in it', dict(raw=b'  \n\n\t\r\n \n')),
                ("cannot read FOLDER/input.txt: 'utf-8' codec can't decode byte 0xe9 in position 10", dict(raw=b'anna\nbob\nb\xe9a\n')),
                ("cannot read FOLDER/input.txt: 'utf-8' codec can't decode byte 0xff in position 0", dict(raw=b'\xffanna\n')),
                ("cannot read FOLDER: [Errno 21] Is a directory: '.'", dict(input_path='.')),
                # only the shipped input.txt is ever fetched: a typo must not train on names under its name
                ("cannot read FOLDER/inptu.txt: [Errno 2] No such file or directory: 'inptu.txt'",
                 dict(input_path='inptu.txt', names_url='http://127.0.0.1:9/never-asked'))]:
            with self.subTest(expect=expect):
                self.run_bad(expect, **kw)

    def test_each_impossible_setting_is_named_before_any_work(self):
        for setting, value, expect in SETTING_MISTAKES:
            with self.subTest(setting=setting, value=value):
                p = self.run_bad(expect, data=harness.SMALL_NAMES, **{setting: value})
                self.assertEqual(p.stdout, '')  # not even the data is read

    def test_a_learning_rate_too_high_ends_in_one_line_naming_the_step_and_the_setting(self):
        # The loss blows up within a few steps: a probability rounds to exactly 0 (math.log would
        # raise) or becomes nan; each ends the same way, after the steps before it printed.
        for rate in (0.3, 10, 1e50):
            with self.subTest(learning_rate=rate):
                p = self.run_bad('loss diverged at step ', data=harness.SMALL_NAMES, learning_rate=rate)
                self.assertRegex(p.stderr, r'^microgpt: loss diverged at step \d+: lower learning_rate\n$')
                self.assertEqual(len(harness.losses(p.stdout)), int(p.stderr.split('step ')[1].split(':')[0]) - 1)

class Download(unittest.TestCase):
    """input.txt missing: it is downloaded, or one line says why not. A local server stands in for
    the network (the tests never leave this machine): /names.txt whole, anything else cut off."""

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
            p.stderr = p.stderr.replace(os.path.realpath(d), 'FOLDER')  # a message gives the full path
            files = sorted(os.listdir(d))
            return p, files, harness.read(os.path.join(d, 'input.txt')).split() if 'input.txt' in files else []

    def test_downloads_when_missing_then_trains(self):
        p, files, names = self.run_missing(names_url=self.url + '/names.txt')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('num docs: 45', p.stdout)
        self.assertEqual((files, names), (['input.txt', 'microgpt.py'], harness.SMALL_NAMES))  # whole, in place

    def test_a_cut_off_or_refused_download_is_one_line_and_never_input_txt(self):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now: the connection is refused, as with no network
        for url, expect in [(self.url + '/cut', r'^microgpt: cannot read FOLDER/input.txt: .*retrieval incomplete'),
                            (f'http://127.0.0.1:{port}/names.txt', r'^microgpt: cannot read FOLDER/input.txt: <urlopen error')]:
            with self.subTest(url=url):
                p, files, _ = self.run_missing(names_url=url)
                self.assertEqual((p.returncode, len(p.stderr.splitlines())), (1, 1))
                self.assertNotIn('input.txt', files)  # only a whole download becomes input.txt
                self.assertRegex(p.stderr, expect)

    def test_a_missing_file_that_is_not_input_txt_is_never_fetched_even_with_a_network(self):
        before = len(self.requests)
        p, files, _ = self.run_missing(input_path='functions.txt', names_url=self.url + '/names.txt')
        self.assertEqual((len(self.requests), files, p.returncode), (before, ['microgpt.py'], 1))  # never asked
        self.assertEqual(p.stderr, "microgpt: cannot read FOLDER/functions.txt: [Errno 2] No such file or directory: "
                                   "'functions.txt'\n")

class OddButValidText(unittest.TestCase):
    def test_a_byte_order_mark_reads_as_if_it_were_not_there(self):
        # Windows Notepad starts UTF-8 files with the mark U+FEFF; it must not become a token.
        plain = ('\n'.join(harness.SMALL_NAMES) + '\n').encode('utf-8')
        outs = []
        for raw in (plain, b'\xef\xbb\xbf' + plain):
            outs.append(harness.run(raw=raw, num_steps=10, n_embd=4, n_head=2).stdout)
        self.assertIn('vocab size: 24', outs[1])
        self.assertEqual(outs[0], outs[1])

    def test_old_mac_and_windows_line_endings_unicode_and_long_names(self):
        names = ['zoë', 'josé', 'łukasz', '日本語の名前です長い名前', 'انا', 'averyveryverylongname', 'x']
        for raw, count, chars in [(b'anna\rbob\rcarl\r', 3, set('anbocrl')),
                                  ('\r\n'.join(names).encode('utf-8') + b'\r\n', len(names), set(''.join(names)))]:
            with self.subTest(raw=raw[:12]):
                p = harness.run(raw=raw, num_steps=20, n_embd=4, n_head=2)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn(f'num docs: {count}', p.stdout)
                self.assertIn(f'vocab size: {len(chars) + 1}', p.stdout)  # no '\r' became a token
                for name in harness.samples(p.stdout):
                    self.assertLessEqual(set(name), chars)
                    self.assertLessEqual(len(name), 8)

if __name__ == '__main__':
    unittest.main()
