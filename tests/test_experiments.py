"""The experiments, tests/experiments/*.diff, used as a learner uses them, with git: each applies to
the file as shipped and after an edit of theirs, any two together, and git apply -R undoes it, their
edits kept; each header says how, and lists its own lines to put back before an undo; each does what
it says, and stops a wrong setting of its own that would be silent or cost the run. The runner,
experiments.py: every diff checked before any run, all re-ported by one command, its panels."""
import ast, collections, contextlib, io, math, os, random, re, shutil, subprocess, sys, tempfile
import unittest
import xml.etree.ElementTree as ET

import harness, program

EXPECTED = harness.experiment_names()
ALONE = 'final_revision'  # a whole other revision: it combines with none of the others
RUNNER = program.tool('tests/experiments/experiments.py')
NARROW = dict(n_embd=8, n_head=2)  # a narrower model: quicker, and the same code

def setUpModule():
    if shutil.which('git') is None:
        raise unittest.SkipTest('applying a diff needs git, not installed here')

def parts(name, folder=harness.EXPERIMENTS):  # (its header, the diff's lines, the lines it adds)
    head, body = harness.read(os.path.join(folder, name + '.diff')).split(RUNNER.MARK)
    return head, body.splitlines(), [line[1:] for line in body.splitlines() if line[:1] == '+']

def edit(line):  # a learner's edit of a line: the same value, written otherwise
    return re.sub(r'( = |\()', r'\g<1>0 or ', line, 1)

def apply(text, name, reverse=False, folder=harness.EXPERIMENTS):
    """text with the diff applied (or undone) by git apply, as a learner runs it; None if not."""
    try:
        return harness.git_apply(os.path.join(folder, name + '.diff'), text, reverse)
    except ValueError:
        return None

def own_settings(name):
    """The settings a diff writes: `names = constants` lines it adds, each name assigned once."""
    text = harness.patched(name)
    tree, lines = ast.parse(text), text.splitlines()
    names = lambda node: [t.id for t in ast.walk(node.targets[0]) if isinstance(t, ast.Name)]
    count = collections.Counter(n for node in ast.walk(tree) if isinstance(node, ast.Assign)
                                for n in names(node))
    return [lines[node.lineno - 1].split('#')[0].strip() for node in tree.body
            if isinstance(node, ast.Assign) and lines[node.lineno - 1] in parts(name)[2]
            and all(isinstance(v, ast.Constant) for v in getattr(node.value, 'elts', [node.value]))
            and all(count[n] == 1 for n in names(node))]

class Diffs(unittest.TestCase):
    def test_each_header_says_what_it_is_and_how_to_apply_undo_and_run_it_in_100_columns(self):
        for name in EXPECTED:
            with self.subTest(name=name):
                head = parts(name)[0] + '\n'
                self.assertTrue(head.startswith(f'{name}: '), head[:80])
                for words in (f'\nTo try it:  git apply tests/experiments/{name}.diff\n',
                              f'\nundo with   git apply -R tests/experiments/{name}.diff ',
                              f' python tests/experiments/experiments.py {name}\n'):
                    self.assertIn(words, head)
                wide = [line[:36] for line in head.splitlines() + parts(name)[2] if len(line) > 100]
                self.assertEqual(wide, ['matrix = lambda nout, nin, std=0.08:'] * (name == ALONE))

    def test_each_applies_after_any_one_edit_and_its_undo_keeps_the_edit(self):
        # Any one setting, or a line README.md invites a learner to change: the samples, the seed.
        text = harness.source()
        lines = re.findall(r'(?m)^\w+(?:, \w+)* = .*$', dict(harness.cells(text))['Settings'])
        lines += [line for line in text.splitlines() if 'range(20)' in line or 'seed(42)' in line]
        self.assertEqual(len(lines), 10)
        for name in EXPECTED:
            for line in lines:
                if '-' + line not in parts(name)[1]:  # not a line the diff changes itself
                    with self.subTest(experiment=name, edit=edit(line)):
                        mine = text.replace(line, edit(line))
                        self.assertEqual(apply(apply(mine, name) or '', name, True), mine)

    def test_an_undo_after_changing_a_line_of_its_own_needs_the_lines_its_header_lists(self):
        with_settings = []
        for name in EXPECTED:
            own = own_settings(name)
            with self.subTest(experiment=name):
                self.assertEqual(re.findall(r'(?m)^ {16}(\S.*)$', parts(name)[0]), own)
                for line in own:  # changed, git apply -R refuses: the header's rule is needed
                    patched = harness.patched(name)
                    self.assertIsNone(apply(patched.replace(line, edit(line)), name, reverse=True))
            with_settings += [name] * bool(own)
        self.assertLessEqual({'dropout', 'final_revision', 'gradient_log', 'lr_schedule', 'prompt',
                              'save_and_load'}, set(with_settings))  # found, at least these

    def test_any_two_apply_together_in_either_order_and_the_file_runs(self):
        others = [name for name in EXPECTED if name != ALONE]
        small = harness.source(num_steps=2, n_embd=4, n_head=2)  # a few steps of a narrow model
        for i, a in enumerate(others):
            for b in others[i + 1:]:
                with self.subTest(pair=(a, b)), tempfile.TemporaryDirectory() as d:
                    ab = apply(apply(small, a) or '', b)
                    self.assertIsNotNone(ab, 'they do not apply together')
                    self.assertEqual(ab, apply(apply(small, b) or '', a))
                    harness.prepare(d, text=ab, data=harness.SMALL_NAMES)
                    p = harness.execute(d)
                    self.assertEqual((p.returncode, len(harness.samples(p.stdout))), (0, 20))

    def test_a_setting_an_experiment_adds_set_wrong_is_one_line_before_any_work(self):
        # Where the mistake would be silent or fail after training (a wrong type: Python's own).
        for name, setting, values, expect in [
                ('prompt', 'prompt', ['sebastia'], 'prompt must be shorter than block_size (8)'),
                ('prompt', 'prompt', ['Zo!'], "prompt's ['!', 'Z'] are not in input.txt"),
                ('dropout', 'dropout', [1.0, -0.1], 'dropout must be from 0 to below 1'),
                ('lr_schedule', 'lr_schedule', ['cos'],
                 "lr_schedule must be 'constant', 'linear' or 'cosine'"),
                ('lr_schedule', 'warmup_steps', [500, -1],
                 'warmup_steps must be from 0 to below num_steps'),
                ('lr_schedule', 'num_steps', [0],
                 'num_steps must be 1 or more for a learning-rate schedule'),
                ('held_out', 'num_steps', [500], 'input.txt has too few names to hold some out: '
                                                 'it needs 10 or more')]:  # (with 9 names)
            for value in values:
                with self.subTest(setting=setting, value=value):
                    p = harness.run(data=harness.SMALL_NAMES[:9 if name == 'held_out' else None],
                                    experiment=name, **{setting: value})
                    self.assertEqual((p.returncode, p.stderr, harness.losses(p.stdout)),
                                     (1, f'microgpt: {expect}\n', []))

class TheRunner(unittest.TestCase):
    def runner(self, *args, script=RUNNER.__file__):
        return subprocess.run([sys.executable, script, *args], capture_output=True, text=True,
                              timeout=300)

    def test_help_list_source_and_names_it_does_not_know(self):
        self.assertIn('tests/experiments/experiments.py shipped relu', self.runner('-h').stdout)
        listed = self.runner('--list').stdout  # the table shows what each did
        self.assertEqual([name for name in EXPECTED if f'`{name}.diff`' not in listed], [])
        self.assertEqual(self.runner('--source', ALONE).stdout, harness.patched(ALONE))
        for args, code in (['relux'], 1), (['relu', 'x'], 1), (['--sauce', 'relu'], 2):
            p = self.runner(*args)
            self.assertEqual((p.returncode, p.stdout, len(p.stderr.splitlines()) == 1),
                             (code, '', code == 1))  # 2: argparse's usage, then its one line

    def test_on_your_file_it_names_your_edits_and_each_diff_that_does_not_apply_before_a_run(self):
        with tempfile.TemporaryDirectory() as d:  # a clone of what the runner needs, then edited
            for f in ['microgpt.py', 'input.txt', 'tests/program.py'] + [
                    os.path.relpath(f, harness.ROOT) for f in (RUNNER.__file__, *(
                        os.path.join(harness.EXPERIMENTS, n + '.diff') for n in EXPECTED))]:
                os.makedirs(os.path.dirname(os.path.join(d, f)), exist_ok=True)
                shutil.copy(os.path.join(harness.ROOT, f), os.path.join(d, f))
            for args in (['init', '-q'], ['add', '-A'],
                         ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'clone']):
                subprocess.run(['git', *args], cwd=d, check=True, capture_output=True)
            harness.prepare(d, text=harness.source().replace('steps = 500', 'steps = 3').replace(
                'relu() ** 2', 'relu() ** 3'))  # a setting, and a line two diffs change
            script = os.path.join(d, os.path.relpath(RUNNER.__file__, harness.ROOT))
            p = self.runner('shipped', 'relu', 'n_head_2', ALONE, script=script)
            self.assertEqual((p.returncode, p.stdout), (1, ''))  # not even the first row ran
            self.assertRegex(p.stderr, r'^experiments: relu.diff \(patch failed: microgpt.py:\d+\), '
                             r'final_revision.diff \(patch failed: microgpt.py:\d+\): not applied '
                             r'to your microgpt.py: put back [^\n]+ with --re-port\n\Z')
            p = self.runner('shipped', script=script)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('on your microgpt.py, with num_steps = 3 (not as shipped)', p.stdout)
        self.assertIn('| your microgpt.py |', p.stdout)
        self.assertNotIn('| as shipped |', p.stdout)

    def test_re_port_fits_every_diff_to_a_change_beside_their_lines_and_names_the_rest(self):
        # A line shift near the top, and a comment beside dropout.diff's line (git apply refuses).
        text = harness.source()
        moved = text.replace('import math\n', 'import math\nimport re\n', 1).replace(
            'until BOS.\n', 'until BOS.\n# a comment, where dropout.diff adds a line\n', 1)
        self.assertIsNone(apply(moved, 'dropout'))
        broken = text.replace('relu() ** 2', 'relu() ** 3')  # a line two diffs change
        changes = lambda name, d: [line for line in parts(name, d)[1] if line[:1] in '+-']
        for new, people in ((text, []), (moved, []), (broken, [ALONE, 'relu'])):
            with tempfile.TemporaryDirectory() as d, contextlib.redirect_stderr(io.StringIO()):
                self.assertEqual(RUNNER.re_port(new, d), people)
                self.assertEqual(sorted(os.listdir(d)), [n + '.diff' for n in EXPECTED
                                                         if n not in people])
                for name in set(EXPECTED) - set(people):
                    with self.subTest(name=name, moved=new is moved):
                        self.assertEqual(parts(name, d)[0], parts(name)[0])  # its header kept
                        self.assertEqual(changes(name, d), changes(name, harness.EXPERIMENTS))
                        self.assertEqual(apply(apply(new, name, folder=d) or '', name, True, d),
                                         new)
                        if new is text:  # as it was, byte for byte
                            self.assertEqual(*(harness.read(os.path.join(f, name + '.diff'))
                                               for f in (d, harness.EXPERIMENTS)))

    def test_the_picture_has_a_panel_for_each_run_its_label_and_line_over_the_shipped_band(self):
        fall = lambda top, steps: [top - k / steps for k in range(steps)]  # a tiny run's losses
        curves = [('relu', fall(3.1, 60), 27), ('functions', fall(3.4, 80), 40)]
        svg = ET.fromstring(RUNNER.svg((fall(3.0, 60), 27), curves, 'title', window=10))
        tag = lambda name: svg.iter('{http://www.w3.org/2000/svg}' + name)
        texts, lines = {t.text: t.get('x') for t in tag('text')}, list(tag('polyline'))
        self.assertEqual(len(lines), 2 * len(curves))  # a grey band and a coloured line each
        for i, (label, losses, vocab) in enumerate(curves):
            for line, ink, n in ((lines[2 * i], RUNNER.GREY, 51),
                                 (lines[2 * i + 1], RUNNER.COLOURS[i], len(losses) - 9)):
                xs = [float(p.split(',')[0]) for p in line.get('points').split()]
                self.assertEqual((line.get('stroke'), len(xs)), (ink, n), label)  # 10-step means
                self.assertLessEqual(float(texts[label]), min(xs))  # in the panel it names
            self.assertIn(f'uniform guess over {vocab} tokens', texts)

class WhatEachDoes(unittest.TestCase):
    def test_prompt_samples_are_the_models_likeliest_characters_after_it_and_nothing_else(self):
        # At a temperature near 0, sampling is the argmax: after the prompt, read through the model
        # first, the model's likeliest next characters. 'sebasti' leaves room for one in 8.
        out = lambda **kw: harness.load('Inference', num_steps=15, temperature=1e-4, **NARROW, **kw)
        plain = out()['_stdout']
        self.assertEqual(out(experiment='prompt', prompt='')['_stdout'], plain)
        for prompt in ('ma', 'sebasti'):
            ns = out(experiment='prompt', prompt=prompt)
            self.assertEqual(harness.samples(ns['_stdout']), [harness.greedy(ns, prompt)] * 20)
            self.assertEqual(ns['_stdout'].split('--- inf')[0], plain.split('--- inf')[0])

    def test_lr_schedule_gives_the_rates_it_promises_and_cosine_is_the_shipped_run(self):
        plain = harness.load('Inference', num_steps=8, **NARROW)['_stdout']
        self.assertEqual(harness.load('Inference', experiment='lr_schedule', num_steps=8, **NARROW,
                                      lr_schedule='cosine', warmup_steps=0)['_stdout'], plain)
        ns = harness.load('Training', experiment='lr_schedule', num_steps=2, **NARROW)
        ns['num_steps'], ns['warmup_steps'] = 40, 10  # the function reads them as it runs
        rate, lr = ns['learning_rate_at'], ns['learning_rate']
        decays = {'constant': lambda t: 1, 'linear': lambda t: 1 - t / 30,
                  'cosine': lambda t: (1 + math.cos(math.pi * t / 30)) / 2}
        for ns['lr_schedule'], decay in decays.items():  # a setting the function reads as it runs
            expected = [(t + 1) / 10 for t in range(10)] + [decay(t) for t in range(30)]
            for step, want in enumerate(expected):  # a warmup over 10 steps, then the decay over 30
                self.assertAlmostEqual(rate(step), lr * want, delta=1e-15, msg=ns['lr_schedule'])

    def test_relu_is_a_plain_relu_and_nothing_else(self):
        self.assertEqual(parts('relu')[2], ['        # 2) MLP: widen 4x, ReLU, project back.',
                                            '        x = [xi.relu() for xi in x]'])  # no other

    def test_layernorm_centres_and_scales_with_three_pairs_of_its_own_each_used(self):
        ns, plain = harness.load('Model', experiment='layernorm'), harness.load('Parameters')
        xs, Value = [0.3, -1.2, 2.5, 0.0, 7.1, -3.3], ns['Value']
        mean = sum(xs) / len(xs)
        sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / len(xs) + 1e-5)
        w = [[Value(2.0) for _ in xs], [Value(0.5) for _ in xs]]  # gains 2, biases 0.5
        for x, y in zip(xs, ns['layernorm']([Value(x) for x in xs], w)):
            self.assertAlmostEqual(y.data, 2.0 * (x - mean) / sd + 0.5, delta=1e-12)
        numbers = lambda sd: {k: [[p.data for p in row] for row in w] for k, w in sd.items()}
        expected = dict(numbers(plain['state_dict']), **{  # the same draws, and the new pairs
            k: [[1.0] * 16, [0.0] * 16] for k in ('ln_emb', 'layer0.ln_1', 'layer0.ln_2')})
        self.assertEqual(numbers(ns['state_dict']), expected)
        harness.randomize(ns)  # no zero matrices: a gradient reaches every norm
        harness.doc_loss(ns, 'alexander')[0].backward()
        for name in ('ln_emb', 'layer0.ln_1', 'layer0.ln_2'):  # each pair is where gpt() uses it
            self.assertTrue(all(p.grad for row in ns['state_dict'][name] for p in row), name)

    def test_dropout_zeroes_that_share_in_training_only_and_leaves_the_other_draws_alone(self):
        # Its own generator: after training, the main one is where the plain file's is, so sampling
        # draws as it would have; with dropout 0 every line is the plain file's.
        ns = harness.load('Training', experiment='dropout', num_steps=10, **NARROW)
        after_dropout = random.getstate()
        plain = harness.load('Training', num_steps=10, **NARROW)
        self.assertEqual((random.getstate(), ns['docs']), (after_dropout, plain['docs']))
        self.assertNotEqual(harness.losses(ns['_stdout'])[1:], harness.losses(plain['_stdout'])[1:])
        plain_run = plain['_stdout'] + harness.run_cell(plain, 'Inference')  # (before another seed)
        none = harness.load('Inference', experiment='dropout', num_steps=10, dropout=0, **NARROW)
        self.assertEqual(none['_stdout'], plain_run)
        ns['training'] = True  # as Ctrl-C may leave it, in a step's forward pass
        harness.run_cell(ns, 'Inference', experiment='dropout')
        xs, ns['dropout'] = [ns['Value'](1.0) for _ in range(4000)], 0.25
        self.assertIs(ns['drop'](xs), xs)  # in sampling: every number as it is
        ns['training'] = True
        kept = [x.data for x in ns['drop'](xs)]
        self.assertEqual(set(kept), {0.0, 1 / 0.75})
        self.assertAlmostEqual(kept.count(0.0) / len(kept), 0.25, delta=0.03)

class HeldOutAndGradientLog(unittest.TestCase):
    def test_names_never_trained_on_scored_every_100_steps_with_dropout_off_and_its_draws_kept(self):
        # With dropout.diff too, the scoring uses every number and none of dropout's draws: the
        # step lines after it are dropout's alone. 300 names: none trained on twice by step 101.
        data, small = harness.read(os.path.join(harness.ROOT, 'input.txt')).split()[:300], dict(
            n_embd=4, n_head=2)  # narrow: what is scored is the same
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, text=apply(harness.patched('dropout'), 'held_out'))
            both = os.path.join(d, 'microgpt.py')
            for script, experiment in (harness.SCRIPT, 'held_out'), (both, None):
                with self.subTest(dropout=script == both):
                    ns = harness.load('Training', data, script, experiment, num_steps=100, **small)
                    trained_on = [ns['docs'][step % len(ns['docs'])] for step in range(100)]
                    reports = re.findall(r'^  mean loss now: (\d\.\d{4}) on the last 100 names '
                                         r'trained on, (\d\.\d{4}) on 30 held-out names$',
                                         ns['_stdout'], re.M)
                    self.assertEqual((len(reports), sorted(ns['docs'] + ns['held_out']),
                                      set(trained_on) & set(ns['held_out'])),
                                     (1, sorted(data), set()))
                    for names, printed in zip((trained_on, ns['held_out']), reports[0]):
                        mean = sum(harness.doc_loss(ns, n)[0].data for n in names) / len(names)
                        self.assertEqual(f'{mean:.4f}', printed)  # the weights after step 100
            steps = [harness.losses(harness.load('Training', data, script, experiment,
                                                 num_steps=101, **small)['_stdout'])
                     for script, experiment in ((both, None), (harness.SCRIPT, 'dropout'))]
        self.assertEqual(steps[0], steps[1])

    def test_the_gradient_log_at_step_1_and_every_n_its_numbers_and_no_other_line_changed(self):
        # attn_wo and mlp_fc2 start at zero, so nothing flows back through them at step 1: the
        # matrices before them get exactly zero gradient (and no update); lm_head's is not zero.
        out = lambda **kw: harness.load('Inference', num_steps=5, **NARROW, **kw)['_stdout']
        plain, logged = out(), out(experiment='gradient_log', grad_log_every=2)
        self.assertEqual(out(experiment='gradient_log', grad_log_every=0), plain)  # 0: never
        self.assertEqual([line for line in logged.splitlines() if not line.startswith('  ')],
                         plain.splitlines())
        log, first = harness.gradient_logs(logged), harness.load('Parameters', **NARROW)
        self.assertEqual((list(log), list(log[1])), ([1, 2, 4], list(first['state_dict'])))
        old, new = ([p.data for row in ns['state_dict']['wte'] for p in row] for ns in (
            first, harness.load('Training', num_steps=1, **NARROW)))  # (step 1's rate: any steps)
        for name in ('attn_wq', 'attn_wk', 'attn_wv', 'mlp_fc1'):
            self.assertEqual(log[1][f'layer0.{name}'][1:], (0.0, 0.0), name)
        for name in ('attn_wo', 'mlp_fc2'):  # zero weights: no ratio yet
            self.assertEqual(log[1][f'layer0.{name}'][::2], (0.0, math.inf))
        rms = lambda xs: math.sqrt(sum(x * x for x in xs) / len(xs))
        weight, grad, ratio = log[1]['wte']  # the same draws: old are the weights of step 1
        self.assertEqual(weight, float(f'{rms(old):.1e}'))
        self.assertEqual(ratio, float(f'{rms([a - b for a, b in zip(old, new)]) / rms(old):.1e}'))
        self.assertGreater(min(grad, log[1]['lm_head'][1]), 0.0)

if __name__ == '__main__':
    unittest.main()
