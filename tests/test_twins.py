"""The twins in tests/twins/ keep microgpt.py's settings and cells, print its golden lines, and
sample after a Ctrl-C in training; the NumPy twin's hand-written backward pass gives the Value
engine's every gradient, to 1e-12, for four shapes."""
import os, re, signal, subprocess, sys, tempfile, unittest

import harness

try:
    import numpy as np
except ImportError:
    np = None
try:
    import torch
except ImportError:
    torch = None

TWINS = {'torch': harness.TORCH_SCRIPT, 'numpy': harness.NUMPY_SCRIPT}
SETTING = re.compile(r'^([a-z_]\w*(?:, [a-z_]\w*)*) = (.+?)(?:\s+#.*)?$', re.M)


def settings(script):
    """{names: value} for each `name = value` line of the script's Settings cell."""
    return dict(SETTING.findall(dict(harness.cells(harness.source(script)))['Settings']))


class InStep(unittest.TestCase):
    def test_the_same_settings_and_cells(self):
        ours = settings(harness.SCRIPT)
        titles = [title for title, _ in harness.cells(harness.source())]
        self.assertIn('learning_rate, beta1, beta2, eps_adam', ours)
        for twin, script in TWINS.items():
            with self.subTest(twin=twin):  # each keeps a copy (it runs on its own): no drifting
                theirs = settings(script)
                self.assertEqual({k: theirs[k] for k in theirs if k not in ('device', 'dtype')},
                                 ours)
                self.assertEqual([title for title, _ in harness.cells(harness.source(script))],
                                 titles)

    def prints_the_golden_lines(self, script):  # run from the repository root, as README says
        golden = harness.read(os.path.join(harness.ROOT, 'tests', 'golden_output.txt'))
        p = subprocess.run([sys.executable, script], cwd=harness.ROOT, capture_output=True,
                           text=True, encoding='utf-8', timeout=600)
        self.assertEqual((p.returncode, p.stderr, p.stdout), (0, '', golden))

    @unittest.skipIf(torch is None, 'PyTorch is not installed (CI installs it)')
    def test_the_torch_twin_prints_the_golden_lines(self):
        self.prints_the_golden_lines(harness.TORCH_SCRIPT)

    @unittest.skipIf(np is None, 'NumPy is not installed (CI installs it)')
    def test_the_numpy_twin_prints_the_golden_lines(self):
        self.prints_the_golden_lines(harness.NUMPY_SCRIPT)

    def ctrl_c_samples(self, script):  # a real SIGINT, as test_ctrl_c.py sends microgpt.py one
        with tempfile.TemporaryDirectory() as d:  # steps enough that Ctrl-C comes while it trains
            harness.prepare(d, script=script, shipped_data=True, num_steps=10000)
            tty = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # as a terminal has it
            child = subprocess.Popen([sys.executable, '-u', os.path.basename(script)], cwd=d,
                                     text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     preexec_fn=tty)
            for _ in range(8):  # num docs, vocab size, num params, then steps 1 to 5
                child.stdout.readline()
            child.send_signal(signal.SIGINT)
            rest, err = child.communicate(timeout=600)
        self.assertEqual((child.returncode, err), (0, ''))
        self.assertRegex(rest, r'stopped by Ctrl-C after \d+ steps\n')
        self.assertEqual(len(harness.samples(rest)), 20)

    @unittest.skipIf(torch is None or sys.platform == 'win32', 'no PyTorch, or no SIGINT to send')
    def test_ctrl_c_stops_the_torch_twins_training_and_the_names_come(self):
        self.ctrl_c_samples(harness.TORCH_SCRIPT)

    @unittest.skipIf(np is None or sys.platform == 'win32', 'no NumPy, or no SIGINT to send')
    def test_ctrl_c_stops_the_numpy_twins_training_and_the_names_come(self):
        self.ctrl_c_samples(harness.NUMPY_SCRIPT)


LONG_NAMES = [''.join(chr(97 + (i * 5 + j * 7) % 26) for j in range(14 + i % 9)) for i in range(30)]
SHAPES = [({}, None), ({'n_layer': 2}, None), ({'n_head': 1, 'n_embd': 8}, None),
          ({'block_size': 16}, LONG_NAMES)]  # names of 14 to 22 letters: all 16 positions are used


@unittest.skipIf(np is None, 'NumPy is not installed (CI installs it)')
class NumPyTwin(unittest.TestCase):
    def test_every_gradient_is_the_value_engines_for_four_shapes(self):
        for shape, data in SHAPES:
            with self.subTest(**shape):
                ns = harness.load('Model', data=data, **shape)
                harness.randomize(ns)  # no zero matrices: every gradient has something to say
                loss, _, tokens = harness.doc_loss(ns, ns['docs'][0])  # the first step's name
                loss.backward()
                twin = harness.load('Model', data=data, script=harness.NUMPY_SCRIPT, **shape)
                for name, mat in ns['state_dict'].items():
                    twin['state_dict'][name][...] = [[p.data for p in row] for row in mat]
                logits, cache = twin['gpt'](tokens[:-1])
                twin_loss, probs = twin['cross_entropy'](logits, tokens[1:])
                dlogits = twin['cross_entropy_backward'](probs, tokens[1:])
                grads = twin['backward'](dlogits, tokens[:-1], cache)
                self.assertAlmostEqual(float(twin_loss), loss.data, delta=1e-12 * loss.data)
                ours = {name: np.array([[p.grad for p in row] for row in mat])
                        for name, mat in ns['state_dict'].items()}
                scale = max(float(np.abs(m).max()) for m in ours.values())
                self.assertEqual((set(ours), scale > 0), (set(grads), True))
                for name in ours:  # each within 1e-12 of the largest gradient
                    err = float(np.abs(ours[name] - grads[name]).max())
                    self.assertLessEqual(err, 1e-12 * scale, f'{name}: {err:.3g} at {scale:.3g}')


if __name__ == '__main__':
    unittest.main()
