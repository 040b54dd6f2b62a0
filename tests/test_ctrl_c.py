"""Ctrl-C in training stops it, and the mean loss and the samples still come, from what was learned
(before the first step ends, no mean of nothing); anywhere else, Python's own; once the names are
out, training stopped or not, the collector is on again."""
import gc, re, sys, tempfile, unittest

import harness

def pressed(ns, name, value):
    """ns's model raises KeyboardInterrupt once, as one Ctrl-C does, when ns[name] is value."""
    gpt = ns['gpt']
    def interrupted(*args):
        if ns.get(name) == value:
            ns['gpt'] = gpt
            raise KeyboardInterrupt
        return gpt(*args)
    ns['gpt'] = interrupted

class InTraining(unittest.TestCase):
    @unittest.skipIf(sys.platform == 'win32', 'Windows cannot send SIGINT to a child process')
    def test_a_real_ctrl_c_stops_training_and_the_samples_still_come(self):
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, data=harness.SMALL_NAMES)
            code, stdout, err = harness.interrupted(d)
        k = len(harness.losses(stdout))
        self.assertEqual((code, err, k < 500), (0, '', True))
        stopped = int(re.findall(r'stopped by Ctrl-C after (\d+) steps\n', stdout)[0])
        self.assertIn(stopped - k, (0, 1))  # a step may end, its line not yet printed
        self.assertEqual(harness.SUMMARY.findall(stdout)[0][0], str(stopped))
        self.assertEqual(len(harness.samples(stdout)), 20)

    def test_the_names_come_from_the_model_as_training_left_it(self):
        # Ctrl-C while step 3 runs the model: the weights are those of 2 whole steps, so the names
        # are those of the same file with its loop cut to 2 steps.
        ns = harness.load('Model')
        pressed(ns, 'step', 2)
        out = harness.run_cell(ns, 'Training') + harness.run_cell(ns, 'Inference')
        self.assertIn('stopped by Ctrl-C after 2 steps\nmean loss of the last 2 steps:', out)
        cut = harness.source().replace('for step in range(num_steps):', 'for step in range(2):')
        whole = harness.run(text=cut, data=harness.SMALL_NAMES).stdout
        self.assertEqual(harness.samples(out), harness.samples(whole))
        self.assertEqual(len(harness.samples(out)), 20)

class Elsewhere(unittest.TestCase):
    def test_ctrl_c_while_sampling_is_pythons_own(self):
        ns = harness.load('Training', num_steps=2)
        pressed(ns, 'sample_idx', 3)
        self.assertRaises(KeyboardInterrupt, harness.run_cell, ns, 'Inference')
        self.assertEqual(len(harness.samples(ns['_stdout'])), 3)  # the names so far stay

    def test_the_collector_is_on_again_once_training_stopped_or_not_sampled(self):
        for stop_at in (None, 0):  # as it is; Ctrl-C before the first step ends
            with self.subTest(stop_at=stop_at):
                ns = harness.load('Model', num_steps=2)
                pressed(ns, 'step', stop_at)
                out = harness.run_cell(ns, 'Training')
                self.assertEqual('stopped by Ctrl-C after 0 steps\n' in out, stop_at == 0)
                self.assertEqual('mean loss' in out, stop_at is None)  # not a mean of nothing
                self.assertEqual(len(harness.samples(harness.run_cell(ns, 'Inference'))), 20)
                self.assertTrue(gc.isenabled())

if __name__ == '__main__':
    unittest.main()
