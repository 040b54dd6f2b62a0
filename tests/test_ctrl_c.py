"""Ctrl-C: in training it stops after the step and still samples, in a terminal and in a notebook's
cells (the handler and the collector as they were, however the Training cell ends); a second one, or
one while sampling, ends the run with one line."""
import gc, os, re, signal, subprocess, sys, tempfile, time, unittest

import harness

SUMMARY = re.compile(r'^mean loss of the last (\d+) steps: (\d+\.\d{4}) '
                     r'\(a uniform guess over (\d+) tokens: (\d+\.\d{4})\)$', re.M)


@unittest.skipIf(sys.platform == 'win32', 'Windows cannot send SIGINT (Ctrl-C) to a child process')
class CtrlC(unittest.TestCase):
    """A real run of the file, sent SIGINT as a terminal's Ctrl-C sends it."""

    def start(self, d, **settings):
        harness.prepare(d, data=harness.SMALL_NAMES, **settings)
        return subprocess.Popen([sys.executable, '-u', 'microgpt.py'], cwd=d, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, encoding='utf-8')

    def read_until(self, child, prefix):
        lines = []
        for line in child.stdout:
            lines.append(line)
            if line.startswith(prefix):
                return lines
        self.fail(f'the run ended before a line starting {prefix!r}: {"".join(lines)}')

    def test_ctrl_c_ends_training_after_a_whole_step_and_the_samples_still_come(self):
        with tempfile.TemporaryDirectory() as d:
            child = self.start(d)
            head = self.read_until(child, 'step    5 /')
            child.send_signal(signal.SIGINT)
            rest, err = child.communicate(timeout=120)
            stdout = ''.join(head) + rest
            self.assertEqual(child.returncode, 0, err)
            self.assertEqual(err, '')
            k = len(harness.losses(stdout))
            self.assertLess(k, 500)
            self.assertEqual(SUMMARY.findall(stdout)[0][0], str(k))
            self.assertEqual(len(harness.samples(stdout)), 20)
            # The model it sampled from is exactly the one after k whole steps (of the 500-step
            # schedule): the same file with its loop cut to k steps prints the same summary and samples.
            with open(os.path.join(d, 'microgpt.py'), encoding='utf-8') as f:
                text = f.read()
            self.assertEqual(text.count('for step in range(num_steps):'), 1)
            with open(os.path.join(d, 'microgpt.py'), 'w', encoding='utf-8') as f:
                f.write(text.replace('for step in range(num_steps):', f'for step in range({k}):'))
            cut = harness.execute(d)
            self.assertEqual(cut.returncode, 0, cut.stderr)
            self.assertEqual(stdout.split(f'step {k:4d} /  500 | loss')[1], cut.stdout.split(f'step {k:4d} /  500 | loss')[1])

    def test_a_second_ctrl_c_ends_the_program_at_once_with_one_line(self):
        # Both signals must land within one step (a Ctrl-C after training has ended is an ordinary
        # KeyboardInterrupt), so: a wide model, whose steps take a second or more, and the first
        # signal soon after step 1's line, once step 1 has freed its graph and step 2 is under way.
        with tempfile.TemporaryDirectory() as d:
            child = self.start(d, n_embd=64)
            self.read_until(child, 'step    1 /')
            time.sleep(0.2)
            child.send_signal(signal.SIGINT)
            time.sleep(0.1)  # the handler runs between two signals (unqueued signals would merge)
            started = time.perf_counter()
            child.send_signal(signal.SIGINT)
            rest, err = child.communicate(timeout=60)
            self.assertLess(time.perf_counter() - started, 10)
        self.assertEqual(child.returncode, 1)
        self.assertEqual(err.strip(), 'microgpt: stopped by a second Ctrl-C')
        self.assertEqual(harness.samples(rest), [])

    def test_the_handler_and_the_collector_are_as_before_however_the_training_cell_ends(self):
        # The Training cell run in-process, as a notebook runs it: as it is; with a document it cannot
        # encode, so that it fails inside its loop; diverging (a SystemExit, which a notebook shows as
        # one line); and interrupted twice, the second Ctrl-C arriving inside a step.
        before = signal.getsignal(signal.SIGINT)
        self.assertTrue(gc.isenabled())
        ns = harness.load('Model', num_steps=2)  # the Settings cell sets what the Training cell reads
        self.assertEqual(len(harness.losses(harness.run_cell(ns, 'Training'))), 2)
        self.assertIs(signal.getsignal(signal.SIGINT), before)
        self.assertTrue(gc.isenabled())
        for mistake, error in [(dict(docs=[None]), TypeError), (dict(learning_rate=10, num_steps=20), SystemExit)]:
            with self.subTest(mistake=mistake):
                ns.update(dict(harness.load('Model', num_steps=2), **mistake))
                with self.assertRaises(error):
                    harness.run_cell(ns, 'Training')
                self.assertIs(signal.getsignal(signal.SIGINT), before)
                self.assertTrue(gc.isenabled())
        ns = harness.load('Model', num_steps=2)
        gpt = ns['gpt']

        def pressed_twice(*args):  # as if Ctrl-C came twice while step 2 runs the model
            if ns['step'] == 1:
                for _ in range(2):
                    signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
            return gpt(*args)
        ns['gpt'] = pressed_twice
        with self.assertRaises(SystemExit) as stopped:
            harness.run_cell(ns, 'Training')
        self.assertEqual(str(stopped.exception), 'microgpt: stopped by a second Ctrl-C')
        self.assertIs(signal.getsignal(signal.SIGINT), before)
        self.assertTrue(gc.isenabled())

class WhileSampling(unittest.TestCase):
    def test_ctrl_c_while_sampling_ends_with_one_line_and_the_names_so_far(self):
        # A first Ctrl-C there, or a second one after one in training: KeyboardInterrupt, as Python
        # raises it once training has put Ctrl-C back as it was, arriving as the 4th name is drawn.
        ns = harness.load('Training', num_steps=2)
        gpt, calls = ns['gpt'], []

        def interrupted(*args):
            calls.append(1)
            if ns['sample_idx'] == 3:
                raise KeyboardInterrupt
            return gpt(*args)
        ns['gpt'] = interrupted
        with self.assertRaises(SystemExit) as stopped:
            harness.run_cell(ns, "Inference")
        self.assertEqual(str(stopped.exception), 'microgpt: stopped by Ctrl-C while sampling')


if __name__ == '__main__':
    unittest.main()
