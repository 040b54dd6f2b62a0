"""Training as a whole: it learns, it is deterministic for a seed and only for that seed, and each
step's graph is freed when the step ends (no leak, no reference cycles)."""
import gc, os, tempfile, unittest

import harness

try:
    import resource
except ImportError:  # Windows
    resource = None


class Training(unittest.TestCase):
    def test_it_learns(self):
        # (The golden run, test_golden.py, is the default settings' whole run.)
        with tempfile.TemporaryDirectory() as d:
            p = harness.run(d, data=harness.SMALL_NAMES, num_steps=120, num_samples=1)
        self.assertEqual(p.returncode, 0, p.stderr)
        loss = harness.losses(p.stdout)
        first, last = sum(loss[:20]) / 20, sum(loss[-20:]) / 20
        self.assertGreater(first, 3.0)  # about log(24), a uniform guess over the vocabulary
        self.assertLess(last, first - 0.5)

    def test_same_seed_same_bytes_other_seed_other_output(self):
        outs = []
        for seed in (42, 42, 7):
            with tempfile.TemporaryDirectory() as d:
                p = harness.run(d, data=harness.SMALL_NAMES, num_steps=15, seed=seed, n_embd=8, n_head=2)
            self.assertEqual(p.returncode, 0, p.stderr)
            outs.append(p.stdout)
        self.assertEqual(outs[0], outs[1])
        self.assertNotEqual(harness.losses(outs[0]), harness.losses(outs[2]))
        self.assertNotEqual(harness.samples(outs[0]), harness.samples(outs[2]))


class Memory(unittest.TestCase):
    def test_backward_leaves_no_reference_cycles(self):
        # With the cycle collector paused (as during training), everything a step makes must be
        # freed by reference counting alone: a collection afterwards must find nothing.
        ns = harness.load('Model')
        gc.collect()
        with harness.paused_gc():
            for doc in ns['docs'][:3]:
                harness.doc_loss(ns, doc)[0].backward()
            self.assertEqual(gc.collect(), 0)

    @unittest.skipIf(resource is None, 'needs the resource module (Unix)')
    def test_peak_memory_after_200_steps_is_within_10_percent_of_after_20(self):
        # Peak resident memory of the whole process (ru_maxrss), read at its end. Every name has the
        # same length (longer than block_size), so every step builds a graph of the same size: any
        # growth from 20 to 200 steps would be a leak. (A small model: a leak shows at any size.)
        names = [''.join(chr(97 + (i * 7 + j * 3) % 26) for j in range(12)) for i in range(60)]
        wrapper = ("import resource, runpy\n"
                   "runpy.run_path('microgpt.py', run_name='__main__')\n"
                   "print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
        peaks = []
        for steps in (20, 200):
            with tempfile.TemporaryDirectory() as d:
                harness.prepare(d, data=names, num_steps=steps, num_samples=1, n_embd=8, n_head=2)
                with open(os.path.join(d, 'measure.py'), 'w') as f:
                    f.write(wrapper)
                p = harness.execute(d, script='measure.py')
            self.assertEqual(p.returncode, 0, p.stderr)
            peaks.append(int(p.stdout.split('maxrss')[-1]))
        self.assertLessEqual(peaks[1], 1.10 * peaks[0], f'peak KB after 20 and 200 steps: {peaks}')


if __name__ == '__main__':
    unittest.main()
