"""The twins in tests/twins/: each keeps microgpt.py's settings (the same names and defaults), its
checks line for line, and its cells in order. The NumPy twin, whose backward pass is written by hand:
it prints golden_output.txt; every gradient equals the one microgpt.py's Value computes, to 1e-12 of
the largest, for four shapes; after three real training steps, so do the weights."""
import os, re, subprocess, sys, unittest

import harness

try:
    import numpy as np
except ImportError:
    np = None

NUMPY_SCRIPT = os.path.join(harness.ROOT, 'tests', 'twins', 'microgpt_numpy.py')
TWINS = {'torch': harness.TORCH_SCRIPT, 'numpy': NUMPY_SCRIPT}
SETTING = re.compile(r'^([a-z_]\w*(?:, [a-z_]\w*)*) = (.+?)(?:\s+#.*)?$', re.M)


def settings(script):
    """{names: value} for each `name = value` line of the script's Settings cell."""
    return dict(SETTING.findall(dict(harness.cells(harness.source(script)))['Settings']))


def checks(script):
    """The script's `def check` and its lines from the first check of a setting to the last of
    microgpt.py's checks."""
    lines = harness.source(script).splitlines()
    at = lambda prefix: next(i for i, line in enumerate(lines) if line.startswith(prefix))
    return lines[at('def check(ok, problem):'):][:3] + lines[at('for name, x in'):at('check(n_layer * block_size') + 1]


class InStep(unittest.TestCase):
    def test_the_same_settings_with_the_same_defaults(self):
        ours = settings(harness.SCRIPT)
        self.assertIn('learning_rate, beta1, beta2, eps_adam', ours)
        for twin, script in TWINS.items():
            with self.subTest(twin=twin):
                theirs = settings(script)
                self.assertEqual({k: v for k, v in theirs.items() if k not in ('device', 'dtype')}, ours)

    def test_the_same_checks_line_for_line(self):
        # Each twin keeps a copy (it must run on its own), so that the messages cannot drift apart.
        self.assertGreater(len(checks(harness.SCRIPT)), 5)
        for twin, script in TWINS.items():
            with self.subTest(twin=twin):
                self.assertEqual(checks(script), checks(harness.SCRIPT))

    def test_the_same_cells_in_the_same_order(self):
        titles = [title for title, _ in harness.cells(harness.source())]
        for twin, script in TWINS.items():
            with self.subTest(twin=twin):
                self.assertEqual([title for title, _ in harness.cells(harness.source(script))], titles)


LONG_NAMES = [''.join(chr(97 + (i * 5 + j * 7) % 26) for j in range(14 + i % 9)) for i in range(30)]
SHAPES = [({}, None), ({'n_layer': 2}, None), ({'n_head': 1, 'n_embd': 8}, None),
          ({'block_size': 16}, LONG_NAMES)]  # names of 14 to 22 letters: all 16 positions are used


@unittest.skipIf(np is None, 'NumPy is not installed (CI installs it)')
class NumPyTwin(unittest.TestCase):
    def test_run_from_the_repository_root_it_prints_the_golden_lines(self):
        p = subprocess.run([sys.executable, NUMPY_SCRIPT], cwd=harness.ROOT, capture_output=True, text=True,
                           encoding='utf-8', timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, '')
        with open(os.path.join(harness.ROOT, 'tests', 'golden_output.txt'), encoding='utf-8') as f:
            self.assertEqual(p.stdout, f.read())

    def assertClose(self, ours, theirs, what):
        """Every matrix of `theirs` within 1e-12 of the largest number in `ours`, matrix by matrix."""
        scale = max(float(np.abs(m).max()) for m in ours.values())
        self.assertGreater(scale, 0, what)
        for name in ours:
            err = float(np.abs(ours[name] - theirs[name]).max())
            self.assertLessEqual(err, 1e-12 * scale, f'{what} {name}: {err:.3g} at scale {scale:.3g}')

    def test_every_gradient_is_the_value_engines_for_four_shapes(self):
        for shape, data in SHAPES:
            with self.subTest(**shape):
                ns = harness.load('Model', data=data, **shape)
                harness.randomize(ns)  # no zero matrices: every gradient has something to say
                loss, _, tokens = harness.doc_loss(ns, ns['docs'][0])  # the first training step's name
                loss.backward()
                twin = harness.load('Model', data=data, script=NUMPY_SCRIPT, **shape)
                for name, mat in ns['state_dict'].items():
                    twin['state_dict'][name][...] = [[p.data for p in row] for row in mat]
                logits, cache = twin['gpt'](tokens[:-1])
                twin_loss, probs = twin['cross_entropy'](logits, tokens[1:])
                grads = twin['backward'](twin['cross_entropy_backward'](probs, tokens[1:]), tokens[:-1], cache)
                self.assertAlmostEqual(float(twin_loss), loss.data, delta=1e-12 * loss.data)
                value_grads = {name: np.array([[p.grad for p in row] for row in mat])
                               for name, mat in ns['state_dict'].items()}
                self.assertEqual(set(grads), set(value_grads))
                self.assertClose(value_grads, grads, 'gradient of')

    def test_three_training_steps_give_the_value_engines_weights(self):
        ours = harness.load('Training', num_steps=3)
        twin = harness.load('Training', script=NUMPY_SCRIPT, num_steps=3)
        weights = {name: np.array([[p.data for p in row] for row in mat]) for name, mat in ours['state_dict'].items()}
        start = harness.load('Parameters', num_steps=3)['state_dict']
        moved = max(float(np.abs(weights[k] - np.array([[p.data for p in row] for row in m])).max())
                    for k, m in start.items())
        self.assertGreater(moved, 1e-3)  # the steps moved the weights: not a match of untouched ones
        self.assertClose(weights, twin['state_dict'], 'weight')


if __name__ == '__main__':
    unittest.main()
