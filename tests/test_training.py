"""Training as a whole: it learns; the line that sums it up; deterministic for a seed and only for
it; models bigger than the reference's recursion can take; each step's graph freed when the step
ends (no leak, no reference cycles); and gradient_log.diff reports what training does, changing
nothing else."""
import gc, math, os, tempfile, unittest

import harness

try:
    import resource
except ImportError:  # Windows
    resource = None

def run_small(**settings):
    p = harness.run(data=harness.SMALL_NAMES, **settings)
    if p.returncode:
        raise AssertionError(p.stderr)
    return p.stdout

class Training(unittest.TestCase):
    def test_it_learns(self):  # (test_golden.py holds the default settings' whole run)
        loss = harness.losses(run_small(num_steps=120, n_embd=8, n_head=2))
        first, last = sum(loss[:20]) / 20, sum(loss[-20:]) / 20
        self.assertGreater(first, 3.0)  # about log(24), a uniform guess over the vocabulary
        self.assertLess(last, first - 0.5)

    def test_same_seed_same_bytes_other_seed_other_output(self):
        outs = []
        for seed in (42, 42, 7):
            with tempfile.TemporaryDirectory() as d:
                text = harness.source(num_steps=15, n_embd=8, n_head=2).replace('random.seed(42)', f'random.seed({seed})')
                harness.prepare(d, text=text, data=harness.SMALL_NAMES)
                outs.append(harness.execute(d).stdout)
        self.assertEqual(outs[0], outs[1])
        self.assertEqual(len(harness.samples(outs[0])), 20)
        self.assertNotEqual(harness.losses(outs[0]), harness.losses(outs[2]))
        self.assertNotEqual(harness.samples(outs[0]), harness.samples(outs[2]))

    def test_the_mean_loss_of_the_last_100_steps_or_of_all_when_fewer_after_the_last_step(self):
        for steps, averaged in ((130, 100), (30, 30)):  # a narrow model: the summary is the same at any width
            with self.subTest(steps=steps):
                stdout = run_small(num_steps=steps, n_embd=4, n_head=2)
                found = harness.SUMMARY.findall(stdout)
                self.assertEqual(len(found), 1, stdout)
                count, mean, vocab, uniform = found[0]
                losses = harness.losses(stdout)[-averaged:]
                self.assertEqual(int(count), averaged)
                self.assertAlmostEqual(float(mean), sum(losses) / averaged, delta=1e-4)  # losses printed to 4 places
                self.assertEqual((int(vocab), uniform), (24, f'{math.log(24):.4f}'))
                lines = stdout.splitlines()  # the last step, the summary, a blank line, inference
                self.assertEqual(lines.index('--- inference (new, hallucinated names) ---'),
                                 lines.index(f'step {steps:4d} / {steps:4d} | loss {losses[-1]:.4f}') + 3)

    def test_a_step_of_models_the_reference_could_not_take(self):
        for name, settings in [('abcdefghijklmnopqrstuvwxyzabcdef', dict(n_layer=8, block_size=32)),  # 32 positions
                               ('a', dict(n_embd=256))]:
            with self.subTest(**settings):
                ns = harness.load('Training', data=[name], num_steps=1, **settings)
                try:
                    self.assertEqual(len(harness.losses(ns['_stdout'])), 1)
                    self.assertTrue(any(p.data != 0 for p in ns['state_dict']['layer0.attn_wo'][0]))  # Adam moved it
                finally:
                    ns.clear()  # millions of nodes: free them now, not in some later test's collection

class Memory(unittest.TestCase):
    def test_backward_leaves_no_reference_cycles(self):
        # With the collector paused (as in training), reference counting alone must free what a step
        # makes: a collection afterwards finds nothing.
        ns = harness.load('Model')
        gc.collect()
        with harness.paused_gc():
            for doc in ns['docs'][:3]:
                harness.doc_loss(ns, doc)[0].backward()
            self.assertEqual(gc.collect(), 0)

    @unittest.skipIf(resource is None, 'needs the resource module (Unix)')
    def test_peak_memory_after_200_steps_is_within_10_percent_of_after_20(self):
        # Peak resident memory of the whole process, read at its end. Every name has the same length
        # (longer than block_size): each step's graph is as big, so growth would be a leak.
        names = [''.join(chr(97 + (i * 7 + j * 3) % 26) for j in range(12)) for i in range(60)]
        peaks = []
        for steps in (20, 200):
            with tempfile.TemporaryDirectory() as d:
                harness.prepare(d, data=names, num_steps=steps, n_embd=8, n_head=2)
                with open(os.path.join(d, 'measure.py'), 'w') as f:
                    f.write("import resource, runpy\nrunpy.run_path('microgpt.py', run_name='__main__')\n"
                            "print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
                p = harness.execute(d, script='measure.py')
            self.assertEqual(p.returncode, 0, p.stderr)
            peaks.append(int(p.stdout.split('maxrss')[-1]))
        self.assertLessEqual(peaks[1], 1.10 * peaks[0], f'peak KB after 20 and 200 steps: {peaks}')

class GradientLog(unittest.TestCase):
    def test_step_1_shows_the_zero_gradients_behind_the_zero_matrices(self):
        # attn_wo and mlp_fc2 start at zero, so nothing flows back through them at step 1: the
        # matrices before them get exactly zero gradient (and no update), while lm_head's is not zero.
        ns = harness.load('Training', experiment='gradient_log', num_steps=1, grad_log_every=100)
        log = harness.gradient_logs(ns['_stdout'])
        self.assertEqual((list(log), list(log[1])), ([1], list(ns['state_dict'])))
        for name in ('attn_wq', 'attn_wk', 'attn_wv', 'mlp_fc1'):
            self.assertEqual(log[1][f'layer0.{name}'][1:], (0.0, 0.0), name)
        self.assertGreater(log[1]['lm_head'][1], 0.0)
        for name in ('attn_wo', 'mlp_fc2'):  # zero weights: no ratio yet
            self.assertEqual(log[1][f'layer0.{name}'][::2], (0.0, math.inf))

    def test_the_numbers_are_the_weights_gradients_and_update_of_that_step(self):
        rms = lambda xs: math.sqrt(sum(x * x for x in xs) / len(xs))
        before = harness.load('Parameters')['state_dict']['wte']  # the same draws: the weights at step 1
        ns = harness.load('Training', experiment='gradient_log', num_steps=1, grad_log_every=1)
        weight, grad, ratio = harness.gradient_logs(ns['_stdout'])[1]['wte']
        old = [p.data for row in before for p in row]
        new = [p.data for row in ns['state_dict']['wte'] for p in row]
        self.assertEqual(weight, float(f'{rms(old):.1e}'))
        self.assertEqual(ratio, float(f'{rms([a - b for a, b in zip(old, new)]) / rms(old):.1e}'))
        self.assertGreater(grad, 0.0)

    def test_it_reports_at_step_1_and_every_n_steps_and_changes_no_other_line(self):
        out = lambda **kw: harness.load('Inference', num_steps=5, n_embd=8, n_head=2, **kw)['_stdout']
        plain, off = out(), out(experiment='gradient_log', grad_log_every=0)
        logged = out(experiment='gradient_log', grad_log_every=2)
        self.assertEqual(off, plain)
        self.assertEqual((list(harness.gradient_logs(logged)), harness.gradient_logs(plain)), ([1, 2, 4], {}))
        self.assertEqual([line for line in logged.splitlines() if not line.startswith('  ')], plain.splitlines())

if __name__ == '__main__':
    unittest.main()
