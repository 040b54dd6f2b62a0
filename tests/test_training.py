"""Training as a whole: it learns, the line that sums it up, models bigger than the reference's
recursion can take, deterministic for a seed and only for that seed, each step's graph is freed when the step ends (no leak, no reference cycles); and the gradient-log
experiment (tests/experiments/gradient_log.diff) reports what training does without changing it."""
import gc, math, os, re, tempfile, unittest

import harness

SUMMARY = re.compile(r'^mean loss of the last (\d+) steps: (\d+\.\d{4}) '
                     r'\(a uniform guess over (\d+) tokens: (\d+\.\d{4})\)$', re.M)

try:
    import resource
except ImportError:  # Windows
    resource = None


class Training(unittest.TestCase):
    def test_it_learns(self):
        # (The golden run, test_golden.py, is the default settings' whole run.)
        with tempfile.TemporaryDirectory() as d:
            p = harness.run(d, data=harness.SMALL_NAMES, num_steps=120, n_embd=8, n_head=2)
        self.assertEqual(p.returncode, 0, p.stderr)
        loss = harness.losses(p.stdout)
        first, last = sum(loss[:20]) / 20, sum(loss[-20:]) / 20
        self.assertGreater(first, 3.0)  # about log(24), a uniform guess over the vocabulary
        self.assertLess(last, first - 0.5)

    def test_same_seed_same_bytes_other_seed_other_output(self):
        outs = []
        for seed in (42, 42, 7):
            with tempfile.TemporaryDirectory() as d:
                harness.prepare(d, data=harness.SMALL_NAMES, num_steps=15, n_embd=8, n_head=2)
                with open(os.path.join(d, 'microgpt.py'), encoding='utf-8') as f:
                    text = f.read()
                with open(os.path.join(d, 'microgpt.py'), 'w', encoding='utf-8') as f:
                    f.write(text.replace('random.seed(42)', f'random.seed({seed})'))
                p = harness.execute(d)
            self.assertEqual(p.returncode, 0, p.stderr)
            outs.append(p.stdout)
        self.assertEqual(outs[0], outs[1])
        self.assertNotEqual(harness.losses(outs[0]), harness.losses(outs[2]))
        self.assertNotEqual(harness.samples(outs[0]), harness.samples(outs[2]))


class Summary(unittest.TestCase):
    def check(self, steps, averaged):
        with tempfile.TemporaryDirectory() as d:  # a narrow model: the summary is the same at any width
            p = harness.run(d, data=harness.SMALL_NAMES, num_steps=steps, n_embd=4, n_head=2)
        self.assertEqual(p.returncode, 0, p.stderr)
        found = SUMMARY.findall(p.stdout)
        self.assertEqual(len(found), 1, p.stdout)
        count, mean, vocab, uniform = found[0]
        self.assertEqual(int(count), averaged)
        losses = harness.losses(p.stdout)[-averaged:]
        self.assertAlmostEqual(float(mean), sum(losses) / averaged, delta=1e-4)  # printed losses: 4 decimals
        self.assertEqual((int(vocab), uniform), (24, f'{math.log(24):.4f}'))
        lines = p.stdout.splitlines()
        self.assertEqual(lines.index('--- inference (new, hallucinated names) ---'),
                         lines.index(f'step {steps:4d} / {steps:4d} | loss {losses[-1]:.4f}') + 3)  # summary, blank

    def test_mean_of_the_last_100_steps(self):
        self.check(130, 100)

    def test_mean_of_all_steps_when_fewer_than_100(self):
        self.check(30, 30)



class GradientLog(unittest.TestCase):
    """microgpt.py with tests/experiments/gradient_log.diff applied."""
    def test_step_1_shows_the_zero_gradients_behind_the_zero_matrices(self):
        # attn_wo and mlp_fc2 start at zero, so nothing flows back through them at step 1: the
        # matrices before them get exactly zero gradient (and no update), while lm_head's is not zero.
        ns = harness.load('Training', experiment='gradient_log', num_steps=1, grad_log_every=100)
        log = harness.gradient_logs(ns['_stdout'])
        self.assertEqual(list(log), [1])
        self.assertEqual(list(log[1]), list(ns['state_dict']))
        for name in ('attn_wq', 'attn_wk', 'attn_wv', 'mlp_fc1'):
            self.assertEqual(log[1][f'layer0.{name}'][1:], (0.0, 0.0), name)
        self.assertGreater(log[1]['lm_head'][1], 0.0)
        for name in ('attn_wo', 'mlp_fc2'):  # zero weights: no ratio yet
            self.assertEqual(log[1][f'layer0.{name}'][0], 0.0)
            self.assertEqual(log[1][f'layer0.{name}'][2], math.inf)

    def test_the_numbers_are_the_weights_gradients_and_update_of_that_step(self):
        rms = lambda xs: math.sqrt(sum(x * x for x in xs) / len(xs))
        flat = lambda mat: [p.data for row in mat for p in row]
        before = harness.load('Parameters')['state_dict']  # the same draws: the weights at step 1
        ns = harness.load('Training', experiment='gradient_log', num_steps=1, grad_log_every=1)
        weight, grad, ratio = harness.gradient_logs(ns['_stdout'])[1]['wte']
        old, new = flat(before['wte']), flat(ns['state_dict']['wte'])
        self.assertEqual(weight, float(f'{rms(old):.1e}'))
        self.assertEqual(ratio, float(f'{rms([a - b for a, b in zip(old, new)]) / rms(old):.1e}'))
        self.assertGreater(grad, 0.0)

    def test_it_reports_at_step_1_and_every_n_steps_and_changes_no_other_line(self):
        plain = harness.load('Inference', num_steps=5, n_embd=8, n_head=2)['_stdout']
        logged = harness.load('Inference', experiment='gradient_log', num_steps=5, n_embd=8, n_head=2,
                              grad_log_every=2)['_stdout']
        off = harness.load('Inference', experiment='gradient_log', num_steps=5, n_embd=8, n_head=2,
                           grad_log_every=0)['_stdout']
        self.assertEqual(off, plain)
        self.assertEqual(list(harness.gradient_logs(logged)), [1, 2, 4])
        self.assertEqual(harness.gradient_logs(plain), {})
        self.assertEqual([line for line in logged.splitlines() if not line.startswith('  ')],
                         plain.splitlines())


class Bigger(unittest.TestCase):
    """One real training step (the training cell with num_steps = 1) of each model."""

    def one_step(self, name, **settings):
        ns = harness.load('Training', data=[name], num_steps=1, **settings)
        try:
            self.assertEqual(len(harness.losses(ns['_stdout'])), 1)
            self.assertTrue(any(p.data != 0 for p in ns['state_dict']['layer0.attn_wo'][0]))  # Adam moved it
        finally:
            ns.clear()  # millions of nodes: free them now, not in some later test's collection

    def test_eight_layers_and_a_context_of_32(self):
        self.one_step('abcdefghijklmnopqrstuvwxyzabcdef', n_layer=8, block_size=32)  # 32 positions

    def test_width_256(self):
        self.one_step('a', n_embd=256)


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
                harness.prepare(d, data=names, num_steps=steps, n_embd=8, n_head=2)
                with open(os.path.join(d, 'measure.py'), 'w') as f:
                    f.write(wrapper)
                p = harness.execute(d, script='measure.py')
            self.assertEqual(p.returncode, 0, p.stderr)
            peaks.append(int(p.stdout.split('maxrss')[-1]))
        self.assertLessEqual(peaks[1], 1.10 * peaks[0], f'peak KB after 20 and 200 steps: {peaks}')


if __name__ == '__main__':
    unittest.main()
