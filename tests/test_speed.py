"""tests/speed/benchmark.py: each mistake one line, exit 1, before any work; a tiny run's row holds
microgpt.py's parameter count, a step's time that projects to 500, a peak; the twins' ratios."""
import functools, re, unittest
import harness, program
benchmark = program.tool('tests/speed/benchmark.py')

bench = functools.partial(harness.tool, 'tests/speed/benchmark.py')  # as a learner runs it

class Benchmark(unittest.TestCase):
    def test_each_mistake_is_one_line_before_any_work(self):
        for flags, says in [('--python /nonexistent', 'cannot run it'), ('--steps 1', 'least 2'),
                            ('--python true', 'is not a Python'), ('--set n_embd=((', 'Syntax'),
                            ('--torch false --steps 2', 'is not a'), ('--set nosuch=1', 'no such'),
                            ('--set n_embd=15', 'divisible'), ('--set n_layer=2000', 'too big')]:
            p = bench(*flags.split())
            self.assertEqual((p.returncode, p.stdout, p.stderr.count('\n'), says in p.stderr),
                             (1, '', 1, True), p.stderr)

    def test_a_tiny_run_measures_microgpts_own_steps_and_memory(self):
        p = bench('--set', 'n_embd=8', '--steps', '4')
        self.assertEqual(p.returncode, 0, p.stderr)
        params, step, run, unit, peak = re.fullmatch(r'\| `n_embd = 8` \| ([\d,]+) \| (\S+) s · '
            r'(\S+) (s|min) · (\d+) MB \|', p.stdout.splitlines()[-1]).groups()  # as printed
        shipped = harness.load('Parameters', n_embd=8, input_path=program.ROOT + '/input.txt')
        self.assertEqual(int(params.replace(',', '')), len(shipped['params']))
        per_step = float(run) * (60 if unit == 'min' else 1) / 500  # its 500 steps' time
        self.assertAlmostEqual(per_step, float(step), delta=0.0005 + 0.005 * per_step)
        self.assertGreater(int(peak), 5)  # a Python process with its graph: megabytes, not 0

    def test_the_twins_table_gives_each_median_and_its_ratio_to_microgpts(self):
        times = {'microgpt.py': [30.0, 29.0, 33.0], 'microgpt_numpy.py': [1.1, 0.9, 1.0]}
        self.assertEqual(list(benchmark.twins_table(times, dict.fromkeys(times, 'a')))[3],
                         '| microgpt_numpy.py (a) | 1.00 s | 1.10, 0.90, 1.00 | 30x |')

if __name__ == '__main__':
    unittest.main()
