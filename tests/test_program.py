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


class OneSitting(unittest.TestCase):
    def test_the_file_is_at_most_285_lines(self):
        with open(harness.SCRIPT, encoding='utf-8') as f:
            self.assertLessEqual(len(f.read().splitlines()), 285)

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

    def test_not_utf8_names_the_file_and_the_offset(self):
        self.run_bad('input.txt is not UTF-8 text: byte 0xe9 at offset 10 (line 3)', raw=b'anna\nbob\nb\xe9a\n')

    def test_input_is_a_directory(self):
        with tempfile.TemporaryDirectory() as d:
            os.mkdir(os.path.join(d, 'names'))
            self.run_bad('cannot read', input_path=os.path.join(d, 'names'))

    def test_each_impossible_setting_is_named(self):
        for setting, value, expect in [
                ('n_embd', 15, 'n_embd (15) must be divisible by n_head (4)'),
                ('n_head', 3, 'n_embd (16) must be divisible by n_head (3)'),
                ('temperature', 0, 'temperature must be greater than 0, not 0'),
                ('temperature', -0.5, 'temperature must be greater than 0, not -0.5'),
                ('n_embd', 0, 'n_embd must be a positive whole number, not 0'),
                ('n_head', -4, 'n_head must be a positive whole number, not -4'),
                ('n_layer', 0, 'n_layer must be a positive whole number, not 0'),
                ('block_size', -1, 'block_size must be a positive whole number, not -1'),
                ('block_size', 8.5, 'block_size must be a positive whole number, not 8.5'),
                ('num_steps', 0, 'num_steps must be a positive whole number, not 0'),
                ('num_samples', 0, 'num_samples must be a positive whole number, not 0'),
                ('prompt', 'sebastia', 'prompt must have fewer characters than block_size (8), not 8'),
                ('prompt', 'Zo!', "prompt has characters not in input.txt: ['!', 'Z']")]:
            with self.subTest(setting=setting, value=value):
                self.run_bad(expect, data=harness.SMALL_NAMES, **{setting: value})


class Download(unittest.TestCase):
    """input.txt missing: the file downloads it, or says clearly why it could not and what to do.
    A local server stands in for the network (the tests never leave this machine)."""

    @classmethod
    def setUpClass(cls):
        body = ('\n'.join(harness.SMALL_NAMES) + '\n').encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
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
            self.assertIn('input.txt not found: downloading', p.stdout)
            self.assertIn('num docs: 45', p.stdout)
            self.assertEqual(sorted(os.listdir(d)), ['input.txt', 'microgpt.py'])

    def test_interrupted_download_leaves_no_file_behind(self):
        with tempfile.TemporaryDirectory() as d:
            p = harness.run(d, num_steps=3, names_url=self.url + '/cut')
            self.assertEqual(sorted(os.listdir(d)), ['microgpt.py'])
        self.assertEqual(p.returncode, 1)
        self.assertNotIn('Traceback', p.stderr)
        self.assertIn('is missing and downloading it failed', p.stderr)
        self.assertIn('one name per line', p.stderr)

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
        self.assertIn('put a UTF-8 text file there, one name per line', p.stderr)


class OddButValidText(unittest.TestCase):
    def test_a_byte_order_mark_reads_as_if_it_were_not_there(self):
        # Windows Notepad starts UTF-8 files with the mark U+FEFF; it must not become a token.
        plain = ('\n'.join(harness.SMALL_NAMES) + '\n').encode('utf-8')
        outs = []
        for raw in (plain, b'\xef\xbb\xbf' + plain):
            with tempfile.TemporaryDirectory() as d:
                p = harness.run(d, raw=raw, num_steps=10)
            self.assertEqual(p.returncode, 0, p.stderr)
            outs.append(p.stdout)
        self.assertIn('vocab size: 24', outs[1])
        self.assertEqual(outs[0], outs[1])

    def test_unicode_crlf_and_long_documents_work(self):
        names = ['zoë', 'josé', 'łukasz', '日本語の名前です長い名前', 'انا', 'averyveryverylongname', 'x']
        raw = '\r\n'.join(names).encode('utf-8') + b'\r\n'
        with tempfile.TemporaryDirectory() as d:
            p = harness.run(d, raw=raw, num_steps=20)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f'num docs: {len(names)}', p.stdout)
        chars = set(''.join(names))
        self.assertIn(f'vocab size: {len(chars) + 1}', p.stdout)  # no '\r' became a token
        for name in harness.samples(p.stdout):
            self.assertLessEqual(set(name), chars)
            self.assertLessEqual(len(name), 8)


if __name__ == '__main__':
    unittest.main()
