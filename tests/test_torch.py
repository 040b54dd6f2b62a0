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
            start = lines.index('def check(ok, problem):  # a mistake ends the run with one line that names it, not a traceback')
            end = next(i for i, line in enumerate(lines) if line.startswith('check(n_layer * block_size'))
            return lines[start:end + 1]
        self.assertGreater(len(checks(harness.SCRIPT)), 5)
        self.assertEqual(checks(harness.TORCH_SCRIPT), checks(harness.SCRIPT))

    def test_the_same_cells_in_the_same_order(self):
        titles = [title for title, _ in harness.cells(harness.source(harness.TORCH_SCRIPT))]
        self.assertEqual(titles, [title for title, _ in harness.cells(harness.source())])


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
                    text = harness.source_with({setting: value}, script=path)
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
