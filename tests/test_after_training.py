"""What a learner does after the first run: samples that start with a prompt, Ctrl-C to stop a long
training run and still get samples, and the line that sums up how training went."""
import math, os, re, signal, subprocess, sys, tempfile, time, unittest

import harness

SUMMARY = re.compile(r'^mean loss of the last (\d+) steps: (\d+\.\d{4}) '
                     r'\(a uniform guess over (\d+) tokens: (\d+\.\d{4})\)$', re.M)


def before_inference(stdout):
    return stdout.split('--- inference')[0]


class Prompt(unittest.TestCase):
    def test_every_sample_starts_with_the_prompt_and_fits_in_block_size(self):
        for prompt in ('ja', 'sebasti'):  # 'sebasti': the longest prompt that leaves room (block_size 8)
            with self.subTest(prompt=prompt), tempfile.TemporaryDirectory() as d:
                p = harness.run(d, data=harness.SMALL_NAMES, num_steps=5, num_samples=30,
                                temperature=1.5, prompt=prompt)  # a few steps: the prompt is sampling's
                self.assertEqual(p.returncode, 0, p.stderr)
                names = harness.samples(p.stdout)
                self.assertEqual(len(names), 30)
                for name in names:
                    self.assertTrue(name.startswith(prompt), name)
                    self.assertLessEqual(len(name), 8)
                self.assertTrue(any(len(name) > len(prompt) for name in names))  # something was drawn

    def test_the_prompt_changes_nothing_before_inference(self):
        outs = []
        for prompt in ('', 'ja'):
            with tempfile.TemporaryDirectory() as d:
                p = harness.run(d, data=harness.SMALL_NAMES, num_steps=15, prompt=prompt)
            self.assertEqual(p.returncode, 0, p.stderr)
            outs.append(p.stdout)
        self.assertEqual(before_inference(outs[0]), before_inference(outs[1]))
        self.assertNotEqual(harness.samples(outs[0]), harness.samples(outs[1]))

    def test_prompted_samples_are_drawn_from_the_model_after_the_prompt(self):
        # At a temperature near 0, sampling is the argmax: after the prompt, the model's likeliest
        # next characters, with the prompt read through the model first.
        ns = harness.load('Inference', num_steps=30, temperature=1e-4, num_samples=3, prompt='ma')
        keys, values = [[] for _ in range(ns['n_layer'])], [[] for _ in range(ns['n_layer'])]
        tokens = [ns['BOS']] + [ns['uchars'].index(ch) for ch in 'ma']
        name = 'ma'
        for pos_id in range(ns['block_size']):
            logits = [l.data for l in ns['gpt'](tokens[pos_id], pos_id, keys, values)]
            if pos_id < 2:
                continue
            best = logits.index(max(logits))
            if best == ns['BOS']:
                break
            tokens.append(best)
            name += ns['uchars'][best]
        self.assertEqual(harness.samples(ns['_stdout']), [name] * 3)


class Summary(unittest.TestCase):
    def check(self, steps, averaged):
        with tempfile.TemporaryDirectory() as d:  # a narrow model: the summary is the same at any width
            p = harness.run(d, data=harness.SMALL_NAMES, num_steps=steps, num_samples=1, n_embd=4, n_head=2)
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

    def test_ctrl_c_ends_training_after_a_whole_step_and_the_samples_still_come_and_it_saves(self):
        with tempfile.TemporaryDirectory() as d:
            child = self.start(d, save_path='model.json')
            head = self.read_until(child, 'step    5 /')
            child.send_signal(signal.SIGINT)
            rest, err = child.communicate(timeout=120)
            stdout = ''.join(head) + rest
            self.assertEqual(child.returncode, 0, err)
            self.assertEqual(err, '')
            stops = re.findall(r'^stopped by Ctrl-C after step (\d+) of 500$', stdout, re.M)
            self.assertEqual(len(stops), 1, stdout)
            k = int(stops[0])
            self.assertEqual(len(harness.losses(stdout)), k)
            self.assertLess(k, 500)
            self.assertEqual(SUMMARY.findall(stdout)[0][0], str(k))
            self.assertEqual(len(harness.samples(stdout)), 20)
            self.assertIn('saved the trained model to model.json', stdout)
            with tempfile.TemporaryDirectory() as elsewhere:  # what was trained is what was saved
                loaded = harness.run(elsewhere, data=harness.SMALL_NAMES, load_path=os.path.join(d, 'model.json'))
            self.assertEqual(harness.samples(loaded.stdout), harness.samples(stdout))
            # The model it sampled from is exactly the one after k whole steps (of the 500-step
            # schedule): the same file with its loop cut to k steps prints the same summary and samples.
            with open(os.path.join(d, 'microgpt.py'), encoding='utf-8') as f:
                text = f.read()
            self.assertEqual(text.count('for step in range(0 if load_path else num_steps):'), 1)
            with open(os.path.join(d, 'microgpt.py'), 'w', encoding='utf-8') as f:
                f.write(text.replace('for step in range(0 if load_path else num_steps):', f'for step in range({k}):'))
            cut = harness.execute(d)
            self.assertEqual(cut.returncode, 0, cut.stderr)
            self.assertEqual(stdout.split(f'stopped by Ctrl-C after step {k} of 500\n')[1],
                             cut.stdout.split(f'step {k:4d} /  500 | loss')[1].split('\n', 1)[1])

    def test_a_second_ctrl_c_ends_the_program_at_once_with_one_line(self):
        # Both signals must land within one step (a Ctrl-C after training has ended is an ordinary
        # KeyboardInterrupt), so: a wide model, whose steps take seconds, and the first signal a
        # second after step 1's line, once step 1 has freed its graph and step 2 is under way.
        with tempfile.TemporaryDirectory() as d:
            child = self.start(d, n_embd=128)
            self.read_until(child, 'step    1 /')
            time.sleep(1.0)
            child.send_signal(signal.SIGINT)
            time.sleep(0.2)  # the handler runs between two signals (unqueued signals would merge)
            started = time.perf_counter()
            child.send_signal(signal.SIGINT)
            rest, err = child.communicate(timeout=60)
            self.assertLess(time.perf_counter() - started, 10)
        self.assertEqual(child.returncode, 1)
        self.assertEqual(err.strip(), 'microgpt: stopped by a second Ctrl-C, before sampling')
        self.assertEqual(harness.samples(rest), [])

    def test_the_previous_handler_is_back_after_training_also_on_error(self):
        # The Training cell run in-process, as a notebook runs it: once as it is, then again with a
        # document it cannot encode, so that the cell fails inside its loop.
        before = signal.getsignal(signal.SIGINT)
        ns = harness.load('Model', num_steps=2)  # the Settings cell sets what the Training cell reads
        harness.run_cell(ns, 'Training')
        self.assertIs(signal.getsignal(signal.SIGINT), before)
        ns['docs'] = [None]
        with self.assertRaises(TypeError):
            harness.run_cell(ns, 'Training')
        self.assertIs(signal.getsignal(signal.SIGINT), before)

if __name__ == '__main__':
    unittest.main()
