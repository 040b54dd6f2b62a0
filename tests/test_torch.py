"""tests/microgpt_torch.py, microgpt.py's model in PyTorch: run from the repository root it prints
exactly golden_output.txt, with nothing on stderr; its settings are microgpt.py's (the same names,
the same defaults); its bad inputs get microgpt.py's messages. (test_model.py checks its gradients
and its Adam against microgpt.py's.)"""
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

    def test_the_same_checks_line_for_line(self):
        # The twin keeps a copy of microgpt.py's setting checks (it must run on its own): the same
        # lines, from the table of types to the last check, so that the messages cannot drift apart.
        def checks(script):
            lines = harness.source(script).splitlines()
            start = lines.index('real = (int, float)  # checked with type(), not isinstance(): True is an int to Python')
            end = next(i for i, line in enumerate(lines) if line.startswith('check(n_embd % n_head == 0'))
            return lines[start:end + 1]
        self.assertGreater(len(checks(harness.SCRIPT)), 5)
        self.assertEqual(checks(harness.TORCH_SCRIPT), checks(harness.SCRIPT))

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

    def test_bad_inputs_get_microgpts_messages(self):
        from test_program import SETTING_MISTAKES
        for kw in [{setting: value} for setting, value, _ in SETTING_MISTAKES[::4]] + [
                dict(raw=b''), dict(raw=b'anna\nb\xe9a\n'), dict(learning_rate=10)]:
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
