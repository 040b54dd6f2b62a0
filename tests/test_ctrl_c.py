"""Ctrl-C: in training it stops after the step and still samples, in a terminal and in a notebook's
cells (the handler and the collector as they were, however the Training cell ends); a second one, or
one while sampling, ends the run with one line."""
import gc, os, signal, subprocess, sys, tempfile, time, unittest

import harness

@unittest.skipIf(sys.platform == 'win32', 'Windows cannot send SIGINT (Ctrl-C) to a child process')
class CtrlC(unittest.TestCase):
    """A real run of the file, sent SIGINT as a terminal's Ctrl-C sends it."""

    def start(self, d, after, **settings):
        """The file running in d; the lines it printed up to the first starting with `after`."""
        harness.prepare(d, data=harness.SMALL_NAMES, **settings)
        child = subprocess.Popen([sys.executable, '-u', 'microgpt.py'], cwd=d, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, encoding='utf-8')
        lines = []
        for line in child.stdout:
            lines.append(line)
            if line.startswith(after):
                return child, ''.join(lines)
        self.fail(f'the run ended before a line starting {after!r}: {"".join(lines)}')

    def test_ctrl_c_ends_training_after_a_whole_step_and_the_samples_still_come(self):
        with tempfile.TemporaryDirectory() as d:
            child, head = self.start(d, 'step    5 /')
            child.send_signal(signal.SIGINT)
            rest, err = child.communicate(timeout=120)
            stdout, k = head + rest, len(harness.losses(head + rest))
            self.assertEqual((child.returncode, err), (0, ''))
            self.assertLess(k, 500)
            self.assertEqual(harness.SUMMARY.findall(stdout)[0][0], str(k))
            self.assertEqual(len(harness.samples(stdout)), 20)
            # The model it sampled from is the one after k whole steps (of the 500-step schedule): the
            # same file with its loop cut to k steps prints the same summary and samples.
            text = harness.read(os.path.join(d, 'microgpt.py'))
            self.assertEqual(text.count('for step in range(num_steps):'), 1)
            harness.prepare(d, text=text.replace('for step in range(num_steps):', f'for step in range({k}):'))
            cut = harness.execute(d)
            self.assertEqual(cut.returncode, 0, cut.stderr)
            self.assertEqual(stdout.split(f'step {k:4d} /  500 | loss')[1], cut.stdout.split(f'step {k:4d} /  500 | loss')[1])

    def test_a_second_ctrl_c_ends_the_program_at_once_with_one_line(self):
        # Both signals must land within one step (after training, Ctrl-C is as it was before), so: a
        # wide model, whose steps take a second or more, the first signal once step 2 is under way.
        with tempfile.TemporaryDirectory() as d:
            child, _ = self.start(d, 'step    1 /', n_embd=64)
            time.sleep(0.2)
            child.send_signal(signal.SIGINT)
            time.sleep(0.1)  # the handler runs between two signals (unqueued signals would merge)
            started = time.perf_counter()
            child.send_signal(signal.SIGINT)
            rest, err = child.communicate(timeout=60)
            self.assertLess(time.perf_counter() - started, 10)
        self.assertEqual((child.returncode, err, harness.samples(rest)), (1, 'microgpt: stopped by a second Ctrl-C\n', []))

class InACell(unittest.TestCase):
    def test_the_handler_and_the_collector_are_as_before_however_the_training_cell_ends(self):
        # The Training cell run in-process, as a notebook runs it: as it is; failing inside its loop
        # (a document it cannot encode); diverging (a SystemExit, which a notebook shows as one line);
        # and interrupted twice, the second Ctrl-C arriving inside a step.
        before = signal.getsignal(signal.SIGINT)
        self.assertTrue(gc.isenabled())
        for mistake, error in [(None, None), ('docs', TypeError), ('learning_rate', SystemExit), ('gpt', SystemExit)]:
            with self.subTest(mistake=mistake):
                ns = harness.load('Model', num_steps=2)  # the Settings cell sets what Training reads
                gpt = ns['gpt']

                def pressed_twice(*args, ns=ns, gpt=gpt):  # as if Ctrl-C came twice as step 2 runs the model
                    if ns['step'] == 1:
                        for _ in range(2):
                            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
                    return gpt(*args)
                if mistake == 'docs':
                    ns['docs'] = [None]
                elif mistake == 'learning_rate':
                    ns.update(learning_rate=10, num_steps=20)
                elif mistake == 'gpt':
                    ns['gpt'] = pressed_twice
                if error is None:
                    self.assertEqual(len(harness.losses(harness.run_cell(ns, 'Training'))), 2)
                else:
                    with self.assertRaises(error) as raised:
                        harness.run_cell(ns, 'Training')
                self.assertIs(signal.getsignal(signal.SIGINT), before)
                self.assertTrue(gc.isenabled())
        self.assertEqual(str(raised.exception), 'microgpt: stopped by a second Ctrl-C')

    def test_ctrl_c_while_sampling_ends_with_one_line(self):
        # A first Ctrl-C there, or a second one after one in training: KeyboardInterrupt, as Python
        # raises it once training has put Ctrl-C back as it was, as the 4th name is drawn.
        ns = harness.load('Training', num_steps=2)
        gpt = ns['gpt']

        def interrupted(*args):
            if ns['sample_idx'] == 3:
                raise KeyboardInterrupt
            return gpt(*args)
        ns['gpt'] = interrupted
        with self.assertRaises(SystemExit) as stopped:
            harness.run_cell(ns, 'Inference')
        self.assertEqual(str(stopped.exception), 'microgpt: stopped by Ctrl-C while sampling')
        self.assertEqual(len(harness.samples(ns['_stdout'])), 3)  # the names so far stay

if __name__ == '__main__':
    unittest.main()
