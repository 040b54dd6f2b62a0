"""tests/speed/benchmark.py, the learner's speed tool: each mistake is one line, exit 1, before any
work (its figures are measurements, never checked here)."""
import os, subprocess, sys, unittest

import harness


class Benchmark(unittest.TestCase):
    def test_each_mistake_is_one_line_before_any_work(self):
        tool = os.path.join(harness.ROOT, 'tests', 'speed', 'benchmark.py')
        for flags, says in [(['--python', '/nonexistent'], 'cannot run it'),
                            (['--python', 'true'], 'is not a Python'),
                            (['--torch', 'false', '--steps', '2'], 'is not a Python'),
                            (['--steps', '1'], 'at least 2'),
                            (['--set', 'nosuch=1'], 'no such setting'),
                            (['--set', 'n_embd=15'], 'divisible by n_head'),
                            (['--set', 'n_layer=2000'], 'too big to fit')]:
            with self.subTest(flags=flags):
                p = subprocess.run([sys.executable, tool, *flags], capture_output=True, text=True)
                self.assertEqual((p.returncode, p.stdout, p.stderr.count('\n')), (1, '', 1))
                self.assertIn(says, p.stderr)


if __name__ == '__main__':
    unittest.main()
