"""The experiments, tests/experiments/*.diff: each applies as git apply applies it, to the file as
shipped and after a learner's own edit, any two together, and git apply -R undoes it; each says how;
each patched file does what its diff says. And their runner, experiments.py, on the shipped file and
on yours. (The gradient log's tests are in test_training.py, save-and-load's in its own file.)"""
import math, os, random, re, shutil, signal, subprocess, sys, tempfile, time, unittest

import harness

EXPECTED = harness.experiment_names()
ALONE = 'final_revision'  # a whole other revision: it combines with none of the others
RUNNER = os.path.join(harness.EXPERIMENTS, 'experiments.py')

def step_lines(stdout):
    return [line for line in stdout.splitlines() if line.startswith('step ')]

def run_small(experiment=None, data=harness.SMALL_NAMES, **settings):
    return harness.run(data=data, experiment=experiment, **settings)  # the small dataset, a new folder

class EveryDiff(unittest.TestCase):
    def test_a_diff_that_no_longer_fits_is_an_error_naming_the_line(self):
        with self.assertRaisesRegex(ValueError, r'relu.diff does not apply: line \d+ of microgpt.py is'):
            harness.patched('relu', harness.source().replace('xi.relu() ** 2', 'xi.relu() ** 3'))

    def test_each_says_how_to_apply_and_undo_it_and_keeps_to_100_characters(self):
        from test_settings_and_data import REFERENCE_LONG_LINES
        allowed = set(REFERENCE_LONG_LINES) | {REFERENCE_LONG_LINES[1].replace('std=0.02', 'std=0.08')}  # final's
        for name in EXPECTED:
            with self.subTest(name=name):
                head = harness.read(os.path.join(harness.EXPERIMENTS, name + '.diff')).split('\n--- a/microgpt.py\n')[0]
                self.assertTrue(head.startswith(f'{name}: '), head[:80])
                for words in (f'git apply tests/experiments/{name}.diff', f'git apply -R tests/experiments/{name}.diff',
                              f'python tests/experiments/experiments.py {name}'):
                    self.assertIn(words, head)
                self.assertLessEqual({line for line in harness.patched(name).splitlines() if len(line) > 100}, allowed)

@unittest.skipIf(shutil.which('git') is None, 'git is not installed')
class LivingWithEdits(unittest.TestCase):
    """A learner edits the Settings, and applies more than one experiment: git apply as they run it."""

    def apply(self, text, *names, reverse=False):
        """text with the diffs applied by git apply (or taken back, with reverse), or None if one fails."""
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, 'microgpt.py'), 'w', encoding='utf-8') as f:
                f.write(text)
            for name in names:
                if subprocess.run(['git', 'apply', *(['-R'] if reverse else []),
                                   os.path.join(harness.EXPERIMENTS, name + '.diff')], cwd=d, capture_output=True).returncode:
                    return None
            return harness.read(os.path.join(d, 'microgpt.py'))

    def test_each_applies_after_any_one_setting_is_changed(self):
        text = harness.source()
        settings = re.findall(r'(?m)^(\w+(?:, \w+)*) = (.+?)(?:\s+#.*)?$', dict(harness.cells(text))['Settings'])
        self.assertGreater(len(settings), 5)
        for names, value in settings:
            line = re.search(rf'(?m)^{re.escape(names)} = .*$', text).group(0)
            edited = text.replace(line, line.replace(value, value + ' + 0', 1), 1)  # a learner's value
            for name in EXPECTED:
                if f'\n-{line}\n' not in harness.read(os.path.join(harness.EXPERIMENTS, name + '.diff')):
                    with self.subTest(setting=names, experiment=name):  # (not the final revision's own)
                        self.assertIsNotNone(self.apply(edited, name))

    def test_every_two_apply_together_in_either_order_and_the_file_runs(self):
        others = [name for name in EXPECTED if name != ALONE]
        small = harness.source(num_steps=2, n_embd=4, n_head=2)  # a few steps of a narrow model
        for i, a in enumerate(others):
            for b in others[i + 1:]:
                with self.subTest(pair=(a, b)):
                    ab = self.apply(small, a, b)
                    self.assertIsNotNone(ab)
                    self.assertEqual(ab, self.apply(small, b, a))
                    with tempfile.TemporaryDirectory() as d:
                        harness.prepare(d, text=ab, data=harness.SMALL_NAMES)
                        p = harness.execute(d)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertEqual(len(harness.samples(p.stdout)), 20)

    def test_undo_restores_the_file_with_the_learners_own_edit_kept(self):
        for name in EXPECTED:
            with self.subTest(experiment=name):
                mine = harness.source() if name == ALONE else harness.source(temperature=0.8)
                self.assertEqual(self.apply(harness.source(), name), harness.patched(name))  # the tests' copy
                self.assertEqual(self.apply(self.apply(mine, name), name, reverse=True), mine)

class TheRunner(unittest.TestCase):
    """experiments.py: what it takes, a name it does not know, and in a clone whose microgpt.py the
    learner edited: it says so, a diff that no longer applies is one line, a signal leaves nothing."""

    def runner(self, *args, cwd=None, script=RUNNER, **kw):
        return subprocess.run([sys.executable, script, *args], cwd=cwd, capture_output=True, text=True,
                              timeout=300, **kw)

    def test_help_list_source_and_names_it_does_not_know(self):
        self.assertIn('python tests/experiments/experiments.py relu temperature', self.runner('--help').stdout)
        listed = self.runner('--list').stdout
        for name in EXPECTED:
            self.assertIn(f'`{name}.diff`', listed)  # README.md's table shows what each did
        self.assertEqual(self.runner('--source', ALONE).stdout, harness.patched(ALONE))
        for args in (['relux'], ['relu', 'nosuch'], ['--sauce', 'relu']):
            with self.subTest(args=args):
                p = self.runner(*args)
                self.assertEqual((p.returncode, p.stdout, len(p.stderr.splitlines())), (1, '', 1), p.stderr)

    def clone(self, d, old, new):
        """A git repository in d like a clone of this one (the program, its data, the runner and the
        diffs, committed), then microgpt.py edited, old to new, as a learner would."""
        for f in ['microgpt.py', 'input.txt', os.path.join('tests', 'harness.py'), os.path.relpath(RUNNER, harness.ROOT)] + \
                 [os.path.join('tests', 'experiments', n + '.diff') for n in EXPECTED]:
            os.makedirs(os.path.dirname(os.path.join(d, f)) or d, exist_ok=True)
            shutil.copy(os.path.join(harness.ROOT, f), os.path.join(d, f))
        for args in (['init', '-q'], ['add', '-A'], ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'clone']):
            subprocess.run(['git', *args], cwd=d, check=True, capture_output=True)
        text = harness.read(os.path.join(d, 'microgpt.py'))
        self.assertIn(old, text)
        with open(os.path.join(d, 'microgpt.py'), 'w', encoding='utf-8') as f:
            f.write(text.replace(old, new))
        return os.path.join(d, 'tests', 'experiments', 'experiments.py')

    @unittest.skipIf(shutil.which('git') is None, 'git is not installed')
    def test_on_your_file_it_names_your_edits_and_a_diff_that_does_not_apply_is_one_line(self):
        with tempfile.TemporaryDirectory() as d:
            p = self.runner('shipped', cwd=d, script=self.clone(d, 'num_steps = 500', 'num_steps = 3'))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('on your microgpt.py, with num_steps = 3 (not as shipped)', p.stdout)
        self.assertIn('| your microgpt.py |', p.stdout)
        self.assertNotIn('| as shipped |', p.stdout)
        with tempfile.TemporaryDirectory() as d:
            p = self.runner('relu', cwd=d, script=self.clone(d, 'xi.relu() ** 2', 'xi.relu() ** 3'))
        self.assertEqual(p.returncode, 1)
        lines = p.stderr.splitlines()  # the progress line, then the one line
        self.assertEqual(len(lines), 2, p.stderr)
        self.assertRegex(lines[-1], r'^experiments: relu.diff does not apply: line \d+ of microgpt.py is')

    @unittest.skipIf(shutil.which('git') is None or sys.platform == 'win32', 'needs git and SIGTERM')
    def test_a_signal_leaves_no_temporary_folder(self):
        with tempfile.TemporaryDirectory() as d, tempfile.TemporaryDirectory() as tmp:
            child = subprocess.Popen([sys.executable, self.clone(d, 'num_steps = 500', 'num_steps = 100000'), 'shipped'],
                                     cwd=d, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ, TMPDIR=tmp))
            for line in child.stderr:
                if line.startswith('experiments: shipped'):
                    break
            deadline = time.time() + 60
            while time.time() < deadline and not any(  # its folder, with the copies it runs, in place
                    os.path.exists(os.path.join(tmp, f, 'functions.txt')) for f in os.listdir(tmp)):
                time.sleep(0.05)
            self.assertTrue(os.listdir(tmp))
            child.send_signal(signal.SIGTERM)
            out, err = child.communicate(timeout=60)
            self.assertEqual(child.returncode, 1)
            self.assertIn('experiments: stopped by signal', err)
            self.assertEqual(os.listdir(tmp), [])

class Mistakes(unittest.TestCase):
    def test_a_setting_an_experiment_adds_set_wrong_is_one_line_before_any_work(self):
        for name, setting, value, expect in [
                ('prompt', 'prompt', 'sebastia', "prompt must be text shorter than block_size (8), not 'sebastia'"),
                ('prompt', 'prompt', 5, 'prompt must be text shorter than block_size (8), not 5'),
                ('prompt', 'prompt', 'Zo!', "prompt has characters not in input.txt: ['!', 'Z']"),
                ('gradient_log', 'grad_log_every', -1, 'grad_log_every must be a whole number, 0 for never, not -1'),
                ('gradient_log', 'grad_log_every', 1.5, 'grad_log_every must be a whole number, 0 for never, not 1.5'),
                ('dropout', 'dropout', 1.0, 'dropout must be >= 0 and < 1, not 1.0'),
                ('dropout', 'dropout', '0.1', "dropout must be >= 0 and < 1, not '0.1'"),
                ('lr_schedule', 'lr_schedule', 'cos', "lr_schedule must be 'constant', 'linear' or 'cosine', not 'cos'"),
                ('lr_schedule', 'warmup_steps', 500, 'warmup_steps must be a whole number from 0 to below num_steps, not 500'),
                ('lr_schedule', 'warmup_steps', -1, 'warmup_steps must be a whole number from 0 to below num_steps, not -1')]:
            with self.subTest(setting=setting, value=value):
                p = run_small(name, **{setting: value})
                self.assertEqual((p.returncode, p.stderr, harness.losses(p.stdout)), (1, f'microgpt: {expect}\n', []))
        p = run_small('held_out', data=harness.SMALL_NAMES[:9])
        self.assertEqual(p.stderr, 'microgpt: input.txt has too few names to hold some out: it needs 10 or more\n')

class Prompt(unittest.TestCase):
    def test_every_sample_starts_with_the_prompt_and_fits_in_block_size(self):
        for prompt in ('ja', 'sebasti'):  # 'sebasti': the longest prompt that leaves room (block_size 8)
            with self.subTest(prompt=prompt):
                p = run_small('prompt', num_steps=5, temperature=1.5, prompt=prompt, n_embd=4, n_head=2)
                names = harness.samples(p.stdout)
                self.assertEqual(len(names), 20, p.stderr)
                for name in names:
                    self.assertTrue(name.startswith(prompt) and len(name) <= 8, name)
                self.assertTrue(any(len(name) > len(prompt) for name in names))  # something was drawn

    def test_the_prompt_changes_nothing_before_inference_and_no_prompt_changes_nothing(self):
        plain = run_small(num_steps=15, n_embd=4, n_head=2).stdout
        none, ja = (run_small('prompt', num_steps=15, prompt=p, n_embd=4, n_head=2).stdout for p in ('', 'ja'))
        self.assertEqual(len(harness.samples(plain)), 20)
        self.assertEqual(none, plain)
        self.assertEqual(ja.split('--- inference')[0], plain.split('--- inference')[0])
        self.assertNotEqual(harness.samples(ja), harness.samples(plain))

    def test_prompted_samples_are_drawn_from_the_model_after_the_prompt(self):
        # At a temperature near 0, sampling is the argmax: after the prompt, read through the model
        # first, the model's likeliest next characters.
        ns = harness.load('Inference', experiment='prompt', num_steps=30, temperature=1e-4, prompt='ma', n_embd=8, n_head=2)
        self.assertEqual(harness.samples(ns['_stdout']), [harness.greedy(ns, 'ma')] * 20)

class LearningRateSchedule(unittest.TestCase):
    def test_cosine_with_no_warmup_is_the_shipped_run_byte_for_byte(self):
        plain = harness.load('Inference', num_steps=8, n_embd=8, n_head=2)['_stdout']
        cosine = harness.load('Inference', experiment='lr_schedule', num_steps=8, n_embd=8, n_head=2,
                              lr_schedule='cosine', warmup_steps=0)['_stdout']
        self.assertEqual(cosine, plain)

    def test_each_schedule_and_the_warmup_give_the_rates_they_promise(self):
        for schedule, expected in [('constant', lambda done, total: 1.0),
                                   ('linear', lambda done, total: 1 - done / total),
                                   ('cosine', lambda done, total: 0.5 * (1 + math.cos(math.pi * done / total)))]:
            with self.subTest(schedule=schedule):
                ns = harness.load('Training', experiment='lr_schedule', num_steps=2, n_embd=4, n_head=2,
                                  lr_schedule=schedule, warmup_steps=1)
                ns['num_steps'], ns['warmup_steps'] = 40, 10  # the function reads them as it runs
                rate, lr = ns['learning_rate_at'], ns['learning_rate']
                self.assertEqual([rate(s) for s in range(10)], [lr * (s + 1) / 10 for s in range(10)])
                for step in range(10, 40):
                    self.assertAlmostEqual(rate(step), lr * expected(step - 10, 30), delta=1e-15)

class Relu(unittest.TestCase):
    def test_the_mlp_uses_plain_relu_and_trains_differently(self):
        text = harness.patched('relu')
        self.assertIn('x = [xi.relu() for xi in x]', text)
        self.assertNotIn('relu() ** 2', text)
        plain, relu = (harness.losses(run_small(e, num_steps=5).stdout) for e in (None, 'relu'))
        self.assertEqual(plain[0], relu[0])  # step 1: attn_wo and mlp_fc2 are zero, the MLP adds 0
        self.assertNotEqual(plain, relu)
        self.assertEqual(len(harness.load('Model', experiment='relu')['params']), len(harness.load('Model')['params']))

class FinalRevision(unittest.TestCase):
    def test_its_seven_edits(self):
        ns, plain = harness.load('Parameters', experiment=ALONE), harness.load('Parameters')
        self.assertEqual((ns['block_size'], ns['num_steps'], ns['beta1'], ns['beta2']), (16, 1000, 0.85, 0.99))
        for name in ('layer0.attn_wo', 'layer0.mlp_fc2'):  # none at zero: std 0.08, as every matrix
            self.assertTrue(all(p.data != 0 for row in ns['state_dict'][name] for p in row), name)
        text = harness.patched(ALONE)
        self.assertIn('x = [xi.relu() for xi in x]', text)
        self.assertIn('lr_t = learning_rate * (1 - step / num_steps)', text)
        # 0.08 where the default is 0.02: the first draw of wte, from the same seed, is 4 times as big
        self.assertAlmostEqual(ns['state_dict']['wte'][0][0].data, 4 * plain['state_dict']['wte'][0][0].data)
        with tempfile.TemporaryDirectory() as d:  # each step line printed over the last: bytes, '\r' kept
            harness.prepare(d, data=harness.SMALL_NAMES, experiment=ALONE, num_steps=4)
            stdout = subprocess.run([sys.executable, 'microgpt.py'], cwd=d, capture_output=True).stdout.decode('utf-8')
        self.assertEqual(stdout.count('\r'), 4)
        self.assertEqual(len(harness.losses(stdout.replace('\r', '\n'))), 4)

class LayerNorm(unittest.TestCase):
    ns = harness.load('Model', experiment='layernorm')

    def test_it_centres_and_scales_then_applies_the_gain_and_bias(self):
        Value, layernorm = self.ns['Value'], self.ns['layernorm']
        xs = [0.3, -1.2, 2.5, 0.0, 7.1, -3.3]
        mean = sum(xs) / len(xs)
        sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / len(xs) + 1e-5)
        for gain, bias in ((1.0, 0.0), (2.0, 0.5)):
            ys = layernorm([Value(x) for x in xs], [[Value(gain) for _ in xs], [Value(bias) for _ in xs]])
            for x, y in zip(xs, ys):
                self.assertAlmostEqual(y.data, gain * (x - mean) / sd + bias, delta=1e-12)

    def test_three_norms_each_with_a_gain_and_a_bias_and_the_same_draws(self):
        sd, plain = self.ns['state_dict'], harness.load('Parameters')['state_dict']
        self.assertEqual(list(sd)[len(plain):], ['ln_emb', 'layer0.ln_1', 'layer0.ln_2'])
        numbers = lambda mat: [[p.data for p in row] for row in mat]
        for name in ('ln_emb', 'layer0.ln_1', 'layer0.ln_2'):
            self.assertEqual(numbers(sd[name]), [[1.0] * 16, [0.0] * 16])
        for name, mat in plain.items():  # the random matrices are drawn exactly as before
            self.assertEqual(numbers(sd[name]), numbers(mat))
        self.assertEqual(len(self.ns['params']), sum(len(row) for mat in plain.values() for row in mat) + 3 * 32)

    def test_gains_and_biases_get_the_gradient_finite_differences_give(self):
        ns = harness.load('Model', experiment='layernorm')
        rng = random.Random(0)
        for p in ns['params']:
            p.data += rng.gauss(0, 0.3)  # no zero matrices, gains off 1, biases off 0
        with harness.paused_gc():
            harness.doc_loss(ns, 'alexander')[0].backward()
            for name in ('ln_emb', 'layer0.ln_1', 'layer0.ln_2'):
                for row in ns['state_dict'][name]:
                    fd = harness.finite_difference(ns, 'alexander', row[3])
                    self.assertAlmostEqual(row[3].grad, fd, delta=1e-6 * max(1.0, abs(fd)), msg=name)
                    self.assertNotEqual(row[3].grad, 0, name)

class Dropout(unittest.TestCase):
    def test_with_dropout_0_every_line_is_the_plain_files(self):
        narrow = dict(num_steps=5, n_embd=8, n_head=2)
        plain = run_small(**narrow).stdout
        self.assertEqual(len(harness.samples(plain)), 20)
        self.assertEqual(run_small('dropout', dropout=0, **narrow).stdout, plain)

    def test_in_training_it_zeroes_about_that_share_and_scales_the_rest_and_not_after(self):
        ns = harness.load('Model', experiment='dropout', dropout=0.25)
        xs = [ns['Value'](1.0) for _ in range(4000)]
        self.assertIs(ns['drop'](xs), xs)  # before training: every number as it is
        ns['training'] = True
        kept = [x.data for x in ns['drop'](xs)]
        self.assertEqual(set(kept), {0.0, 1 / 0.75})
        self.assertAlmostEqual(kept.count(0.0) / len(kept), 0.25, delta=0.03)

    def test_it_changes_training_but_not_the_draws_of_the_data_or_of_sampling(self):
        # Its own generator: after training, the main one is where the plain file's is, so sampling
        # draws as it would have; and with dropout 0 the training is the plain file's, bit for bit.
        ns = harness.load('Training', experiment='dropout', num_steps=10)
        after_dropout = random.getstate()
        self.assertFalse(ns['training'])
        plain = harness.load('Training', num_steps=10)
        self.assertEqual(random.getstate(), after_dropout)
        self.assertEqual(ns['docs'], plain['docs'])
        self.assertNotEqual(harness.losses(ns['_stdout'])[1:], harness.losses(plain['_stdout'])[1:])
        none = harness.load('Training', experiment='dropout', num_steps=10, dropout=0.0)
        self.assertEqual([p.data for p in none['params']], [p.data for p in plain['params']])

class HeldOut(unittest.TestCase):
    def test_names_never_trained_on_scored_every_100_steps_beside_the_last_trained_on(self):
        narrow = dict(num_steps=100, n_embd=4, n_head=2)  # a narrow model: what is scored is the same
        ns = harness.load('Model', experiment='held_out', **narrow)
        out = harness.run_cell(ns, 'Training', 'held_out')
        plain = harness.load('Training', **narrow)
        self.assertEqual(len(ns['held_out']), len(harness.SMALL_NAMES) // 10)
        self.assertEqual(sorted(ns['docs'] + ns['held_out']), sorted(plain['docs']))
        trained_on = [ns['docs'][step % len(ns['docs'])] for step in range(100)]
        self.assertFalse(set(trained_on) & set(ns['held_out']))
        first = len(ns['docs'])  # until the training names wrap around, the same names in the same order
        self.assertEqual(step_lines(out)[:first], step_lines(plain['_stdout'])[:first])
        reports = re.findall(r'^  mean loss now: (\d\.\d{4}) on the last 100 names trained on, '
                             r'(\d\.\d{4}) on 4 held-out names$', out, re.M)
        self.assertEqual(len(reports), 1, out)
        for names, printed in ((trained_on, reports[0][0]), (ns['held_out'], reports[0][1])):
            mean = sum(harness.doc_loss(ns, name)[0].data for name in names) / len(names)
            self.assertEqual(f'{mean:.4f}', printed)  # the weights after step 100 are the ones it scored

if __name__ == '__main__':
    unittest.main()
