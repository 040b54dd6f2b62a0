"""tests/microgpt_torch.py, microgpt.py's model in PyTorch: run from the repository root it prints
exactly golden_output.txt; its settings are microgpt.py's (the same names, the same defaults); its bad
inputs get microgpt.py's messages. (test_model.py checks its gradients against microgpt.py's, and
test_weights.py the weights the two files exchange.)"""
import os, re, subprocess, sys, tempfile, unittest

import harness

try:
    import torch
except ImportError:
    torch = None

SETTING = re.compile(r'^([a-z_]\w*(?:, [a-z_]\w*)*) = (.+?)(?:\s+#.*)?$', re.M)


def settings(script):
    """{names: value} for each `name = value` line of the script's Settings cell."""
    return dict(SETTING.findall(dict(harness.cells(harness.source(script)))['Settings']))


class InStep(unittest.TestCase):
    def test_the_same_settings_with_the_same_defaults(self):
        ours, theirs = settings(harness.SCRIPT), settings(harness.TORCH_SCRIPT)
        self.assertIn('learning_rate, beta1, beta2, eps_adam', ours)
        self.assertEqual({name: value for name, value in theirs.items() if name not in ('device', 'dtype')}, ours)
        self.assertEqual(theirs['device'], "'cpu'")

    def test_the_same_cells_in_the_same_order(self):
        titles = [title for title, _ in harness.cells(harness.source(harness.TORCH_SCRIPT))]
        self.assertEqual(titles, [title for title, _ in harness.cells(harness.source())])


@unittest.skipIf(torch is None, 'PyTorch is not installed (CI installs it)')
class Twin(unittest.TestCase):
    def test_run_from_the_repository_root_it_prints_the_golden_lines(self):
        p = subprocess.run([sys.executable, os.path.join('tests', 'microgpt_torch.py')], cwd=harness.ROOT,
                           capture_output=True, text=True, encoding='utf-8', timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, '')
        with open(os.path.join(harness.ROOT, 'tests', 'golden_output.txt'), encoding='utf-8') as f:
            self.assertEqual(p.stdout, f.read())

    def test_the_gradient_log_is_microgpts(self):
        outputs = []
        for script in (harness.SCRIPT, harness.TORCH_SCRIPT):
            with tempfile.TemporaryDirectory() as d:
                p = harness.run(d, data=harness.SMALL_NAMES, script=script, num_steps=6, grad_log_every=5)
            self.assertEqual(p.returncode, 0, p.stderr)
            outputs.append(p.stdout)
        self.assertEqual(list(harness.gradient_logs(outputs[0])), [1, 5])
        self.assertEqual(outputs[0], outputs[1])

    def test_bad_inputs_get_microgpts_messages(self):
        for kw in [dict(n_embd=15), dict(n_head=0), dict(temperature=0), dict(block_size=8.5),
                   dict(prompt='sebastia'), dict(prompt='Zo!'), dict(raw=b''), dict(raw=b'anna\nb\xe9a\n'),
                   dict(save_path=os.path.join('no', 'model.json'))]:
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


if __name__ == '__main__':
    unittest.main()
