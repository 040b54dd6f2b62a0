"""tests/speed/benchmark.py, the learner's speed tool: each mistake is one line, exit 1, before any
work; on a tiny run its row holds microgpt.py's parameter count, a time per step that projects to
its 500 steps, and a peak memory; the twins' table gives each median and its ratio to microgpt.py's.
(Its figures are measurements: never checked against a bound here.)"""
import os, re, subprocess, sys, unittest

import harness

sys.path.insert(0, os.path.join(harness.ROOT, 'tests', 'speed'))
import benchmark

TOOL = os.path.join(harness.ROOT, 'tests', 'speed', 'benchmark.py')

def bench(*flags):
    return subprocess.run([sys.executable, TOOL, *flags], capture_output=True, text=True)


class Benchmark(unittest.TestCase):
    def test_each_mistake_is_one_line_before_any_work(self):
        for flags, says in [(['--python', '/nonexistent'], 'cannot run it'),
                            (['--python', 'true'], 'is not a Python'),
                            (['--torch', 'false', '--steps', '2'], 'is not a Python'),
                            (['--steps', '1'], 'at least 2'),
                            (['--set', 'nosuch=1'], 'no such setting'),
                            (['--set', 'n_embd=15'], 'divisible by n_head'),
                            (['--set', 'n_layer=2000'], 'too big for this machine')]:
            with self.subTest(flags=flags):
                p = bench(*flags)
                self.assertEqual((p.returncode, p.stdout, p.stderr.count('\n')), (1, '', 1))
                self.assertIn(says, p.stderr)

    def test_a_tiny_run_measures_microgpts_own_steps_and_memory(self):
        p = bench('--set', 'n_embd=8', '--set', 'n_head=2', '--steps', '4')
        self.assertEqual(p.returncode, 0, p.stderr)
        row = p.stdout.splitlines()[-1]
        found = re.fullmatch(r'\| `n_embd = 8`, `n_head = 2` \| ([\d,]+) \| (\S+) (m?s|min) · '
                             r'(\S+) (s|min) · (\d+) MB \|', row)
        self.assertTrue(found, row)
        params, step, unit, run, run_unit, peak = found.groups()
        shipped = harness.load('Parameters', input_path=os.path.join(harness.ROOT, 'input.txt'),
                               n_embd=8, n_head=2)
        self.assertEqual(int(params.replace(',', '')), len(shipped['params']))
        seconds = lambda x, u: float(x) * {'s': 1, 'ms': 1e-3, 'min': 60}[u]
        per_step = seconds(run, run_unit) / 500  # each as printed: to 3 decimals, 3 figures
        self.assertAlmostEqual(per_step, seconds(step, unit), delta=0.0005 + 0.005 * per_step)
        self.assertGreater(int(peak), 5)  # a Python process with its graph: megabytes, not 0

    def test_the_twins_table_gives_each_median_and_how_many_times_faster_than_microgpt(self):
        times = {'microgpt.py': [30.0, 29.0, 33.0], 'microgpt_torch.py': [3.0, 2.9, 3.1],
                 'microgpt_numpy.py': [1.1, 0.9, 1.0]}
        lines = list(benchmark.twins_table(times, {name: 'a Python' for name in times}))
        self.assertEqual(lines[2:], [
            '| microgpt.py (a Python) | 30.00 s | 30.00, 29.00, 33.00 | 1x |',
            '| microgpt_torch.py (a Python) | 3.00 s | 3.00, 2.90, 3.10 | 10x |',
            '| microgpt_numpy.py (a Python) | 1.00 s | 1.10, 0.90, 1.00 | 30x |'])


if __name__ == '__main__':
    unittest.main()
