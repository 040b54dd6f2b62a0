"""microgpt.py as a user meets it: one file that runs on the standard library alone, and every bad
input the way a new user would make it: a clear one-line message, exit status 1, no traceback, no
file created or changed. (The unmodified file's whole default run is test_golden.py's.)"""
import http.server, os, shutil, socket, sys, tempfile, threading, unittest

import harness


def snapshot(folder):
    """Every file in the folder with its bytes, to show that a run created or changed nothing."""
    files = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        with open(path, 'rb') if os.path.isfile(path) else open(os.devnull, 'rb') as f:
            files[name] = f.read()
    return files


# The reference's own five lines longer than 100 characters, which this file keeps as they are.
REFERENCE_LONG_LINES = [
    "    def __pow__(self, other): return Value(self.data**other, (self,), (other * self.data**(other-1),))",
    "matrix = lambda nout, nin, std=0.02: [[Value(random.gauss(0, std)) for _ in range(nin)] for _ in range(nout)]",
    "state_dict = {'wte': matrix(vocab_size, n_embd), 'wpe': matrix(block_size, n_embd), 'lm_head': matrix(vocab_size, n_embd)}",
    "            attn_logits = [sum(q_h[j] * k_h[t][j] for j in range(head_dim)) / head_dim**0.5 for t in range(len(k_h))]",
    "            head_out = [sum(attn_weights[t] * v_h[t][j] for t in range(len(v_h))) for j in range(head_dim)]",
]


class OneSitting(unittest.TestCase):
    """It reads as the reference does: about its length, its line widths, its cells and spacing."""

    def lines(self):
        with open(harness.SCRIPT, encoding='utf-8') as f:
            return f.read().splitlines()

    def test_no_line_over_100_characters_but_the_references_own_five(self):
        self.assertEqual([line for line in self.lines() if len(line) > 100], REFERENCE_LONG_LINES)

    def test_the_references_cells_in_its_order_each_opened_by_a_comment_after_a_blank_line(self):
        lines = self.lines()
        starts = [i for i, line in enumerate(lines) if line.startswith('# %%')]
        self.assertEqual([lines[i][5:] for i in starts], ['Settings', 'Data', 'Tokenizer', 'Autograd',
                                                          'Parameters', 'Model', 'Training', 'Inference'])
        for i in starts:
            self.assertEqual(lines[i - 1], '', lines[i])
            self.assertTrue(lines[i + 1].startswith('# ') and not lines[i + 2].startswith('#'), lines[i])

    def test_a_blank_line_before_every_function_that_follows_code(self):
        lines = self.lines()
        for i, line in enumerate(lines):
            if line.lstrip().startswith(('def ', 'class ')) and ': return ' not in line:
                self.assertTrue(lines[i - 1] == '' or lines[i - 1].lstrip().startswith(('#', 'class ')),
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
        """Run in a fresh folder; expect exit 1, one line on stderr containing `expect`, no traceback,
        and the folder exactly as it was before the run."""
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, **kw)
            before = snapshot(d)
            p = harness.execute(d, timeout=120)
            self.assertEqual(snapshot(d), before, 'the run created or changed a file')
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertNotIn('Traceback', p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertIn(expect, p.stderr)
        return p

    def test_empty_file(self):
        self.run_bad('input.txt has no names in it', raw=b'')

    def test_blank_file(self):
        self.run_bad('input.txt has no names in it', raw=b'  \n\n\t\r\n \n')

    def test_not_utf8_names_the_file_the_byte_and_its_line(self):
        self.run_bad("cannot read input.txt: 'utf-8' codec can't decode byte 0xe9 in position 10", raw=b'anna\nbob\nb\xe9a\n')
        self.run_bad("cannot read input.txt: 'utf-8' codec can't decode byte 0xff in position 0", raw=b'\xffanna\n')

    def test_input_is_a_directory(self):
        with tempfile.TemporaryDirectory() as d:
            os.mkdir(os.path.join(d, 'names'))
            self.run_bad('Is a directory', input_path=os.path.join(d, 'names'))

    def test_a_dataset_that_is_not_there_is_named_and_never_downloaded(self):
        # only the shipped input.txt is ever fetched: a typo must not train on names under its name
        self.run_bad("cannot read inptu.txt: [Errno 2] No such file or directory: 'inptu.txt'",
                     input_path='inptu.txt', names_url='http://127.0.0.1:9/never-asked')

    def test_each_impossible_setting_is_named(self):
        for setting, value, expect in SETTING_MISTAKES:
            with self.subTest(setting=setting, value=value):
                p = self.run_bad(expect, data=harness.SMALL_NAMES, **{setting: value})
                self.assertEqual(p.stdout, '')  # before any work: not even the data is read

    def test_a_learning_rate_too_high_ends_in_one_line_naming_the_step_and_the_setting(self):
        # The loss blows up within a few steps: a probability rounds to exactly 0 (math.log would
        # raise), a number overflows, or the loss becomes nan or inf; each ends the same way.
        for rate in (0.3, 10, 1e50):
            with self.subTest(learning_rate=rate):
                p = self.run_bad('loss diverged at step ', data=harness.SMALL_NAMES, learning_rate=rate)
                self.assertRegex(p.stderr.strip(), r'^microgpt: loss diverged at step \d+: lower learning_rate$')
                step = int(p.stderr.split('step ')[1].split(':')[0])
                self.assertEqual(len(harness.losses(p.stdout)), step - 1)  # the steps before it printed


# (setting, a mistake a learner makes, what the one line says): each stops the run before any work.
SETTING_MISTAKES = [
    ('n_embd', 15, 'n_embd (15) must be divisible by n_head (4)'),
    ('n_head', 3, 'n_embd (16) must be divisible by n_head (3)'),
    ('n_embd', 0, 'n_embd must be a whole number above 0, not 0'),
    ('n_head', -4, 'n_head must be a whole number above 0, not -4'),
    ('n_layer', True, 'n_layer must be a whole number above 0, not True'),
    ('block_size', 8.5, 'block_size must be a whole number above 0, not 8.5'),
    ('block_size', '8', "block_size must be a whole number above 0, not '8'"),
    ('num_steps', 5e2, 'num_steps must be a whole number above 0, not 500.0'),
    ('n_embd', 10**9, 'too big to fit in memory: lower n_embd or n_layer'),
    ('temperature', 0, 'temperature must be a number from 1e-100 to 1e100, not 0'),
    ('temperature', '0.5', "temperature must be a number from 1e-100 to 1e100, not '0.5'"),
    ('temperature', float('nan'), 'temperature must be a number from 1e-100 to 1e100, not nan'),
    ('temperature', 1e-310, 'temperature must be a number from 1e-100 to 1e100, not 1e-310'),
    ('temperature', 10**400, 'temperature must be a number from 1e-100 to 1e100, not 1000'),
    ('learning_rate', True, 'learning_rate must be a number from 1e-100 to 1e100, not True'),
    ('learning_rate', float('inf'), 'learning_rate must be a number from 1e-100 to 1e100, not inf'),
    ('eps_adam', 10**400, 'eps_adam must be a number from 1e-100 to 1e100, not 1000'),
    ('beta1', 1.0, 'beta1 must be >= 0 and < 1, not 1.0'),
    ('beta2', '0.95', "beta2 must be >= 0 and < 1, not '0.95'"),
    ('input_path', '', "input_path must name a file, not ''"),
    ('input_path', 0, 'input_path must name a file, not 0'),
]


class Download(unittest.TestCase):
    """input.txt missing: the file downloads it, or says clearly why it could not and what to do.
    A local server stands in for the network (the tests never leave this machine)."""

    @classmethod
    def setUpClass(cls):
        body = ('\n'.join(harness.SMALL_NAMES) + '\n').encode()

        cls.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                cls.requests.append(self.path)
                self.send_response(200)
                if self.path == '/names.txt':
                    self.send_header('Content-Length', str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:  # promises the whole file, sends a tenth, hangs up: an interrupted download
                    self.send_header('Content-Length', str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[:len(body) // 10])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)

            def log_message(self, *args):
                pass

        cls.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        cls.url = f'http://127.0.0.1:{cls.server.server_address[1]}'
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def test_downloads_when_missing_then_trains(self):
        with tempfile.TemporaryDirectory() as d:
            p = harness.run(d, num_steps=3, names_url=self.url + '/names.txt')
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn('num docs: 45', p.stdout)
            self.assertEqual(sorted(os.listdir(d)), ['input.txt', 'microgpt.py'])  # moved into place
            with open(os.path.join(d, 'input.txt'), encoding='utf-8') as f:
                self.assertEqual(f.read().split(), harness.SMALL_NAMES)  # written whole

    def test_a_missing_file_that_is_not_input_txt_is_never_fetched_even_with_a_network(self):
        with tempfile.TemporaryDirectory() as d:
            before = len(self.requests)
            p = harness.run(d, num_steps=3, input_path='functions.txt', names_url=self.url + '/names.txt')
            self.assertEqual(sorted(os.listdir(d)), ['microgpt.py'])
        self.assertEqual(len(self.requests), before)  # the server was never asked
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip(),
                         "microgpt: cannot read functions.txt: [Errno 2] No such file or directory: 'functions.txt'")

    def test_interrupted_download_leaves_no_file_behind(self):
        with tempfile.TemporaryDirectory() as d:
            p = harness.run(d, num_steps=3, names_url=self.url + '/cut')
            self.assertNotIn('input.txt', os.listdir(d))  # only a whole download becomes input.txt
        self.assertEqual(p.returncode, 1)
        self.assertNotIn('Traceback', p.stderr)
        self.assertRegex(p.stderr.strip(), r'^microgpt: cannot read input.txt: .*retrieval incomplete')

    def test_no_network_says_how_to_supply_a_file(self):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now: the connection is refused, as with no network
        with tempfile.TemporaryDirectory() as d:
            p = harness.run(d, num_steps=3, names_url=f'http://127.0.0.1:{port}/names.txt')
            self.assertEqual(sorted(os.listdir(d)), ['microgpt.py'])
        self.assertEqual(p.returncode, 1)
        self.assertNotIn('Traceback', p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        self.assertIn('microgpt: cannot read input.txt: <urlopen error', p.stderr)


class OddButValidText(unittest.TestCase):
    def test_a_byte_order_mark_reads_as_if_it_were_not_there(self):
        # Windows Notepad starts UTF-8 files with the mark U+FEFF; it must not become a token.
        plain = ('\n'.join(harness.SMALL_NAMES) + '\n').encode('utf-8')
        outs = []
        for raw in (plain, b'\xef\xbb\xbf' + plain):
            with tempfile.TemporaryDirectory() as d:
                p = harness.run(d, raw=raw, num_steps=10, n_embd=4, n_head=2)
            self.assertEqual(p.returncode, 0, p.stderr)
            outs.append(p.stdout)
        self.assertIn('vocab size: 24', outs[1])
        self.assertEqual(outs[0], outs[1])

    def test_old_mac_line_endings_are_line_endings(self):
        with tempfile.TemporaryDirectory() as d:
            p = harness.run(d, raw=b'anna\rbob\rcarl\r', num_steps=2, n_embd=4, n_head=2)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('num docs: 3', p.stdout)
        self.assertIn('vocab size: 8', p.stdout)  # a b c l n o r, and BOS: no '\r' among them

    def test_unicode_crlf_and_long_documents_work(self):
        names = ['zoë', 'josé', 'łukasz', '日本語の名前です長い名前', 'انا', 'averyveryverylongname', 'x']
        raw = '\r\n'.join(names).encode('utf-8') + b'\r\n'
        with tempfile.TemporaryDirectory() as d:
            p = harness.run(d, raw=raw, num_steps=20, n_embd=4, n_head=2)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f'num docs: {len(names)}', p.stdout)
        chars = set(''.join(names))
        self.assertIn(f'vocab size: {len(chars) + 1}', p.stdout)  # no '\r' became a token
        for name in harness.samples(p.stdout):
            self.assertLessEqual(set(name), chars)
            self.assertLessEqual(len(name), 8)


if __name__ == '__main__':
    unittest.main()
