"""tests/twins/microgpt_torch.py, microgpt.py's model in PyTorch: run from the repository root it
prints exactly golden_output.txt, with nothing on stderr; its bad inputs get microgpt.py's messages,
and a device or dtype it cannot use is one line. (test_model.py checks its gradients and its Adam
against microgpt.py's; test_twins.py that its settings, checks and cells are microgpt.py's.)"""
import os, subprocess, sys, tempfile, unittest

import harness

try:
    import torch
except ImportError:
    torch = None

@unittest.skipIf(torch is None, 'PyTorch is not installed (CI installs it)')
class Twin(unittest.TestCase):
    def test_run_from_the_repository_root_it_prints_the_golden_lines(self):
        p = subprocess.run([sys.executable, harness.TORCH_SCRIPT], cwd=harness.ROOT,
                           capture_output=True, text=True, encoding='utf-8', timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, '')
        with open(os.path.join(harness.ROOT, 'tests', 'golden_output.txt'), encoding='utf-8') as f:
            self.assertEqual(p.stdout, f.read())

    def test_bad_inputs_get_microgpts_messages(self):
        from test_settings_and_data import SETTING_MISTAKES
        for kw in [{setting: value} for setting, value, _ in SETTING_MISTAKES[::4]] + [
                dict(raw=b''), dict(raw=b'anna\nb\xe9a\n'), dict(learning_rate=10)]:
            if kw.get('n_embd') == 10**9:
                continue
            with self.subTest(**kw):
                messages = []
                for script in (harness.SCRIPT, harness.TORCH_SCRIPT):
                    with tempfile.TemporaryDirectory() as d:
                        if 'raw' not in kw:
                            kw['data'] = harness.SMALL_NAMES
                        p = harness.run(d, script=script, **kw)
                    self.assertEqual(p.returncode, 1, p.stderr)
                    self.assertNotIn('Traceback', p.stderr)
                    messages.append(p.stderr)
                self.assertEqual(messages[0], messages[1])


    def test_a_device_or_dtype_it_cannot_use_is_one_line(self):
        for setting, value, expect in [('device', "'cdua'", "device 'cdua' cannot be used: "),
                                       ('device', "'cuda'", "device 'cuda' cannot be used: "),
                                       ('dtype', 'torch.float16', 'dtype must be torch.float64 or torch.float32')]:
            with self.subTest(setting=setting, value=value), tempfile.TemporaryDirectory() as d:
                harness.prepare(d, data=harness.SMALL_NAMES, script=harness.TORCH_SCRIPT)
                path = os.path.join(d, 'microgpt_torch.py')
                with open(path, encoding='utf-8') as f:
                    text = harness.source(path, codes={setting: value})
                with open(path, 'w', encoding='utf-8') as f:
                    f.write(text)
                p = harness.execute(d, script='microgpt_torch.py')
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
                self.assertIn(expect, p.stderr)
                if value == "'cuda'" and torch.cuda.is_available():
                    self.skipTest('this machine has CUDA')


if __name__ == '__main__':
    unittest.main()
