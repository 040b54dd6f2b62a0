"""The twins in tests/twins/, microgpt.py in NumPy and in PyTorch: its cells and its settings'
names, its golden lines on the shipped input.txt, names sampled after a Ctrl-C in training, and
(NumPy) the Value engine's every gradient, to 1e-12, for four shapes."""
import importlib.util, os, re, sys, tempfile, unittest

import harness

TWINS = {'torch': harness.TORCH_SCRIPT, 'numpy': harness.NUMPY_SCRIPT}  # by the library each needs
SHAPES = [({}, None), ({'n_layer': 2}, None), ({'n_head': 1, 'n_embd': 8}, None),
          ({'block_size': 16}, harness.LONG_NAMES)]  # all 16 positions used

class Twins(unittest.TestCase):
    def needs(self, library):
        if importlib.util.find_spec(library) is None:
            self.skipTest(f'{library} is not installed (CI installs it)')

    def test_each_twin_has_microgpts_cells_in_order_and_its_settings_names(self):
        def layout(script):  # its cells' titles, and the names its Settings cell sets
            cells = harness.cells(harness.read(script))
            names = re.findall(r'(?m)^(\w+(?:, \w+)*) = ', dict(cells)['Settings'])
            return [t for t, _ in cells], [n for n in names if n not in ('device', 'dtype')]
        ours = layout(harness.SCRIPT)  # names only: the golden lines hold the values
        self.assertIn('learning_rate, beta1, beta2, eps_adam', ours[1])
        self.assertEqual([layout(script) for script in TWINS.values()], [ours, ours])

    def test_each_twin_prints_the_golden_lines(self):  # run from the repository root, as README
        golden = harness.read(os.path.join(harness.ROOT, 'tests', 'golden_output.txt'))
        for library, script in TWINS.items():
            with self.subTest(library):
                self.needs(library)
                p = harness.execute(harness.ROOT, script)
                self.assertEqual((p.returncode, p.stderr, p.stdout), (0, '', golden))

    @unittest.skipIf(sys.platform == 'win32', 'Windows cannot send SIGINT to a child process')
    def test_a_real_ctrl_c_stops_each_twins_training_and_the_names_come(self):
        for library, script in TWINS.items():
            with self.subTest(library), tempfile.TemporaryDirectory() as d:
                self.needs(library)  # steps enough that Ctrl-C comes while it trains:
                harness.prepare(d, script=script, shipped_data=True, num_steps=10000)
                code, rest, err = harness.interrupted(d, os.path.basename(script))
                self.assertEqual((code, err), (0, ''))
                self.assertRegex(rest, r'stopped by Ctrl-C after \d+ steps\n')
                self.assertEqual(len(harness.samples(rest)), 20)

    def test_the_numpy_twins_every_gradient_is_the_value_engines_for_four_shapes(self):
        self.needs('numpy')
        import numpy as np
        arrays = lambda ns, what: {name: np.array([[getattr(p, what) for p in row] for row in m])
                                   for name, m in ns['state_dict'].items()}
        for shape, data in SHAPES:
            with self.subTest(**shape):
                ns = harness.load('Model', data=data, **shape)
                harness.randomize(ns)  # no zero matrices: every gradient has something to say
                loss, _, tokens = harness.doc_loss(ns, ns['docs'][0])  # the first step's name
                loss.backward()
                twin = harness.load('Model', data=data, script=harness.NUMPY_SCRIPT, **shape)
                twin['state_dict'].update(arrays(ns, 'data'))
                logits, cache = twin['gpt'](tokens[:-1])
                twin_loss, probs = twin['cross_entropy'](logits, tokens[1:])
                grads = twin['backward'](twin['cross_entropy_backward'](probs, tokens[1:]),
                                         tokens[:-1], cache)
                self.assertAlmostEqual(float(twin_loss), loss.data, delta=1e-12 * loss.data)
                ours = arrays(ns, 'grad')
                scale = max(float(np.abs(m).max()) for m in ours.values())
                self.assertEqual((set(ours), scale > 0), (set(grads), True))
                errors = {name: float(np.abs(ours[name] - grads[name]).max()) for name in ours}
                self.assertLessEqual(max(errors.values()), 1e-12 * scale, errors)  # of the largest

if __name__ == '__main__':
    unittest.main()
