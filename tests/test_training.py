"""Training as a whole (that it learns, the same bytes each run: test_whole_run.py): its summary
line; models deeper than the reference's recursion takes, on every Python; each step's graph
freed (no leak); the memory the check counts on not less than a step takes."""
import math, os, shutil, sys, tempfile, unittest

import harness, program

pythons = program.tool('tests/ci/pythons.py')
MEASURE = ("import runpy\nrunpy.run_path('microgpt.py', run_name='__main__')\n"
           "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])")

def depth(root):
    """How deep build_topo's recursion goes from root: its walk, with a list for Python's stack."""
    visited, stack, deepest = {root}, [iter(root._children)], 1
    while stack:
        child = next((c for c in stack[-1] if c not in visited), None)  # the next one not seen
        if child is None:
            stack.pop()
        else:
            visited.add(child)
            stack.append(iter(child._children))
            deepest = max(deepest, len(stack))
    return deepest

def measured(python=None, **settings):
    """microgpt.py's peak resident memory in bytes, run on LONG_NAMES: MEASURE prints Linux's VmHWM,
    the process's own (ru_maxrss would count the test process's, which exec carries over)."""
    with tempfile.TemporaryDirectory() as d:
        harness.prepare(d, data=harness.LONG_NAMES, **settings)
        p = harness.execute(d, script=MEASURE, python=python, flags=['-c'])
    if p.returncode:
        raise AssertionError(p.stderr)
    return 1024 * int(p.stdout.split()[-1])

class Training(unittest.TestCase):
    def test_the_mean_loss_of_the_last_100_steps_or_of_all_when_fewer_after_the_last_step(self):
        for steps, last in ((130, 100), (30, 30)):  # a narrow model: the line is the same
            with self.subTest(steps=steps):
                p = harness.run(data=harness.SMALL_NAMES, num_steps=steps, n_embd=4, n_head=2)
                found = harness.SUMMARY.findall(p.stdout)
                self.assertEqual((p.returncode, len(found)), (0, 1), p.stderr + p.stdout)
                count, mean, vocab, uniform = found[0]
                losses = harness.losses(p.stdout)[-last:]
                self.assertEqual((count, vocab, uniform), (str(last), '24', f'{math.log(24):.4f}'))
                self.assertAlmostEqual(float(mean), sum(losses) / last, delta=1e-4)  # 4 places

class Deep(unittest.TestCase):
    """backward() recurses once per node down the graph's deepest path: the reference stops with
    RecursionError at n_layer = 8, n_embd = 256 or 1,400 distinct characters. The Parameters cell
    raises Python's limit as far as the model needs, and refuses one deeper than every Python's
    stack holds."""

    def test_the_limit_covers_the_graphs_depth_and_goes_no_further(self):
        many = 'a' * 8 + ''.join(chr(0x4e00 + i) for i in range(1500))  # its softmax: a long sum
        for name, settings in [('a' * 40, {}), ('a' * 40, dict(n_layer=8)), ('a' * 40,
                               dict(block_size=32)), ('a', dict(n_embd=64, block_size=2)),
                               ('a' * 9, dict(n_embd=2, n_head=1, n_layer=30)),
                               (many, dict(n_embd=4, n_head=1))]:
            with self.subTest(**settings, vocabulary=len(set(name))):
                ns = harness.load('Training', data=[name], num_steps=1, **settings)
                self.assertEqual(len(harness.losses(ns['_stdout'])), 1)  # it trained a step
                self.assertTrue(any(p.data for p in ns['state_dict']['layer0.attn_wo'][0]))
                needed = depth(harness.doc_loss(ns, name[:settings.get('block_size', 8)])[0])
                ns.clear()  # many nodes: free them now, not in some later test's collection
                raised = sys.getrecursionlimit() - 1000  # what the file added to the default
                self.assertTrue(needed <= raised <= 2.5 * needed, (needed, raised))

    def trains_a_step(self, pythons):
        """The deepest narrow model the check lets through trains a step on each of pythons."""
        narrow = dict(n_embd=4, n_head=1, num_steps=1)  # depth is what counts: a narrow model
        low, high = 1, 1000  # n_layer: low is let through, high is refused
        while high - low > 1:
            try:
                harness.load('Parameters', n_layer=(low + high) // 2, data=harness.LONG_NAMES,
                             **narrow)
                low = (low + high) // 2
            except SystemExit:
                high = (low + high) // 2
        text = harness.source(n_layer=low, **narrow).replace('range(20)', 'range(1)')  # one sample
        for python in pythons:
            with self.subTest(python=python, n_layer=low):
                p = harness.run(text=text, data=harness.LONG_NAMES, python=python)
                self.assertEqual((p.returncode, len(harness.losses(p.stdout))), (0, 1), p.stderr)

    def test_the_deepest_model_the_check_lets_through_trains_a_step(self):
        self.trains_a_step([sys.executable])

    @unittest.skipUnless(os.environ.get('MICROGPT_EVERY_PYTHON'), 'CI sets MICROGPT_EVERY_PYTHON')
    def test_the_deepest_model_the_check_lets_through_trains_a_step_on_every_python(self):
        self.trains_a_step([path for _, path in pythons.pythons() if path])

class Memory(unittest.TestCase):
    @unittest.skipIf(not os.path.exists('/proc/self/status'), 'reads Linux\'s /proc')
    def test_peak_memory_after_120_steps_is_within_10_percent_of_after_20(self):
        # Every name is longer than block_size: each step's graph is as big, so growth is a leak.
        peaks = [measured(num_steps=steps, n_embd=8, n_head=2) for steps in (20, 120)]
        self.assertLessEqual(peaks[1], 1.10 * peaks[0], f'peaks after 20 and 120 steps: {peaks}')

    @unittest.skipIf(not os.path.exists('/proc/self/status'), 'reads Linux\'s /proc')
    def test_the_memory_the_check_counts_on_is_not_less_than_a_run_takes_nor_far_above(self):
        settings = dict(n_embd=64, num_steps=1)  # training, then sampling 20 names: both count
        need = harness.load('Parameters', data=harness.LONG_NAMES, **settings)['graph_bytes']
        for python in [sys.executable] + [p for p in [shutil.which('pypy3')] if p]:
            with self.subTest(python=python):  # PyPy frees a graph only when its collector runs
                peak = measured(python, **settings)
                self.assertLessEqual(peak, need)
                if python == sys.executable:
                    self.assertGreater(peak, need / 3)  # and not far from it

    def test_a_long_block_size_is_let_through_when_the_names_are_short(self):
        ns = harness.load('Training', num_steps=1, block_size=512,
                          input_path=os.path.join(harness.ROOT, 'input.txt'))
        self.assertEqual(len(harness.losses(ns['_stdout'])), 1)

if __name__ == '__main__':
    unittest.main()
