"""The experiments, tests/experiments/*.diff, used as a learner uses them, with git (alone, after an
edit, beside another, undone), each doing what it says and stopping a wrong setting of its own
before any work; and their runner, experiments.py: diffs checked first, re-ported, runs drawn."""
import ast, contextlib, io, math, os, random, re, shutil, statistics, subprocess, sys, tempfile
import functools, itertools, unittest
import xml.etree.ElementTree as ET

import harness, program

EXPECTED, ALONE = harness.experiment_names(), 'final_revision'  # ALONE combines with no other
RUNNER = program.tool('tests/experiments/experiments.py')
NARROW = dict(n_embd=4, n_head=2)  # a narrower model: quicker, and the same code

def setUpModule():
    if shutil.which('git') is None:
        raise unittest.SkipTest('applying a diff needs git, not installed here')

def parts(name, folder=harness.EXPERIMENTS):  # (its header, the diff's lines, the lines it adds)
    head, body = harness.read(os.path.join(folder, name + '.diff')).split(RUNNER.MARK)
    return head, body.splitlines(), [line[1:] for line in body.splitlines() if line[:1] == '+']

def edit(line):  # a learner's edit of a line: the same value, written otherwise
    return re.sub(r'( = |\()', r'\g<1>0 or ', line, 1)

def apply(text, name, reverse=False, folder=harness.EXPERIMENTS):  # None if git apply refuses
    with contextlib.suppress(ValueError):
        return harness.git_apply(os.path.join(folder, name + '.diff'), text, reverse)

def own_settings(name):  # the `names = constants` lines a diff adds, each name assigned only there
    text, own = harness.patched(name), []
    for line in (line.split('#')[0].rstrip() for line in parts(name)[2]):
        names, _, value = line.partition(' = ')
        with contextlib.suppress(ValueError, SyntaxError):
            ast.literal_eval(value)  # a constant
            own += [line] * bool(re.fullmatch(r'\w+(, \w+)*', names) and all(len(re.findall(
                rf'(?m)^ *(?:\w+, )*{n}(?:, \w+)* = ', text)) == 1 for n in names.split(', ')))
    return own

files = lambda d: harness.files(d, but=('microgpt.py', 'input.txt'))  # each run writes those

def run(d, name, **settings):  # the experiment run as a program in folder d: narrow, small names
    return harness.run(d, experiment=name, **{'data': harness.SMALL_NAMES, **NARROW, **settings})

class Diffs(unittest.TestCase):
    def test_each_header_says_how_to_apply_undo_and_run_it_and_lists_its_own_lines(self):
        for name in EXPECTED:  # within 100 columns; a changed line of its own stops an undo
            head, own = parts(name)[0] + '\n', own_settings(name)
            said = (f'{name}: ', f'\nTo try it:  git apply tests/experiments/{name}.diff\n',
                    f'\nundo with   git apply -R tests/experiments/{name}.diff ',
                    f' python tests/experiments/experiments.py {name}\n')  # in this order
            self.assertRegex(head, '^' + '(?s:.*)'.join(map(re.escape, said)))
            wide = [line[:36] for line in head.splitlines() + parts(name)[2] if len(line) > 100]
            self.assertEqual(wide, ['matrix = lambda nout, nin, std=0.08:'] * (name == ALONE))
            self.assertEqual(re.findall(r'(?m)^ {16}(\S.*)$', head), own, name)
            self.assertEqual(bool(own), name not in ('held_out', 'layernorm', 'relu'), name)
            for line in own:
                self.assertIsNone(apply(harness.patched(name).replace(line, edit(line)), name, 1))

    def test_each_applies_after_any_one_edit_and_its_undo_keeps_the_edit(self):
        # Any one setting, or a line README.md invites a learner to change: the samples, the seed.
        text = harness.source()
        lines = re.findall(r'(?m)^\w+(?:, \w+)* = .*$', dict(harness.cells(text))['Settings'])
        lines += [line for line in text.splitlines() if 'range(20)' in line or 'seed(42)' in line]
        self.assertEqual(len(lines), 10)
        for name, line in ((n, line) for n in EXPECTED for line in lines):
            if '-' + line not in parts(name)[1]:  # not a line the diff changes itself
                mine = text.replace(line, edit(line))
                self.assertEqual(apply(apply(mine, name) or '', name, True), mine, (name, line))

    def test_any_two_apply_together_in_either_order_and_the_file_runs(self):
        small = harness.source(num_steps=2, **NARROW)  # a few steps of a narrow model
        for a, b in itertools.combinations([name for name in EXPECTED if name != ALONE], 2):
            with self.subTest(pair=(a, b)):
                ab = apply(apply(small, a) or '', b)
                self.assertEqual(ab or 'none', apply(apply(small, b) or '', a))
                p = harness.run(data=harness.SMALL_NAMES, text=ab)  # in a folder of its own
                self.assertEqual((p.returncode, len(harness.samples(p.stdout))), (0, 20))

    def test_a_setting_set_wrong_is_one_line_before_any_work_and_no_file_is_written(self):
        # Where the mistake would be silent or fail after training (a wrong type: Python's own);
        # save_and_load: a file at save_path it did not load (a second run's), one it cannot write.
        there = "{0} is there already: move it away, or set load_path = '{0}' to sample from it"
        cannot, long = "cannot save to save_path '{}': {}", 'm' * 250  # too long with .tmp after
        other = 'model.json was saved with other settings or data: set them as then'
        wrong = [  # (the experiment, its settings, what it says)
            ('prompt', {'prompt': 'sebastia'}, 'prompt must be shorter than block_size (8)'),
            ('prompt', {'prompt': 'Zo!'}, "prompt's ['!', 'Z'] are not in input.txt"),
            *(('dropout', {'dropout': v}, 'dropout must be from 0 to below 1') for v in (1.0, -.1)),
            *(('lr_schedule', kw, said) for kw, said in (
                ({'lr_schedule': 'cos'}, "lr_schedule must be 'constant', 'linear' or 'cosine'"),
                ({'warmup_steps': 500}, 'warmup_steps must be from 0 to below num_steps'),
                ({'warmup_steps': -1}, 'warmup_steps must be from 0 to below num_steps'),
                ({'num_steps': 0}, 'num_steps must be 1 or more for a learning-rate schedule'))),
            ('held_out', {'data': harness.SMALL_NAMES[:9]},
             'input.txt has too few names to hold some out: it needs 10 or more'),
            *(('save_and_load', {'save_path': path}, said) for path, said in (
                ('model.json', there.format('model.json')),  # as shipped: a second run
                ('dangling.json', there.format('dangling.json')),
                ('models', "save_path 'models' is a folder: name a file in it"),
                ('no/such/m.json', cannot.format('no/such/m.json', 'No such file or directory')),
                (long, cannot.format(long, 'File name too long')))),
            *(('save_and_load', {'load_path': 'model.json', **kw}, other) for kw in (
                {'n_embd': 12}, {'n_layer': 2}, {'block_size': 4},  # widths, matrices, wpe
                {'data': [n.replace('e', 'E') for n in harness.SMALL_NAMES]}))]
        with tempfile.TemporaryDirectory() as d:
            run(d, 'save_and_load', num_steps=2)
            os.mkdir(os.path.join(d, 'models'))
            os.symlink('gone.json', os.path.join(d, 'dangling.json'))  # a link to nothing
            before = files(d)  # the first run's model.json, a folder and a link: byte for byte
            for name, settings, expect in wrong:
                p = run(d, name, **settings)
                self.assertEqual((p.returncode, p.stderr, harness.losses(p.stdout), files(d)),
                                 (1, f'microgpt: {expect}\n', [], before), (name, settings))

class TheRunner(unittest.TestCase):
    def test_on_your_file_it_names_your_edits_and_each_diff_that_does_not_apply_before_a_run(self):
        runner = functools.partial(harness.tool, 'tests/experiments/experiments.py')
        self.assertIn('tests/experiments/experiments.py shipped relu', runner('-h').stdout)
        self.assertEqual(runner('--source', ALONE).stdout, harness.patched(ALONE))
        listed = runner('--list').stdout  # each experiment's name, and the table's words for it
        self.assertEqual([name for name in EXPECTED if f'`{name}.diff`' not in listed], [])
        for args, code in (['relux'], 1), (['relu', 'x'], 1), (['--sauce', 'relu'], 2):
            p = runner(*args)  # 2: argparse's usage, then its one line
            self.assertEqual((p.returncode, p.stdout, p.stderr.count('\n') == 1),
                             (code, '', code < 2))
        with tempfile.TemporaryDirectory() as d:  # a clone of what the runner needs, then edited
            shutil.copytree(RUNNER.HERE, os.path.join(d, 'tests', 'experiments'),
                            ignore=shutil.ignore_patterns('out', '__pycache__'))
            for f in 'microgpt.py', 'input.txt', 'tests/program.py':
                shutil.copy(os.path.join(harness.ROOT, f), os.path.join(d, f))
            for args in 'init -q', 'add -A', '-c user.name=t -c user.email=t@t commit -qm clone':
                subprocess.run(['git', *args.split()], cwd=d, check=True, capture_output=True)
            harness.prepare(d, text=harness.source().replace('steps = 500', 'steps = 3').replace(
                'relu() ** 2', 'relu() ** 3'))  # a setting, and a line two diffs change
            p = runner('shipped', 'relu', 'n_head_2', ALONE, root=d)
            self.assertEqual((p.returncode, p.stdout), (1, ''))  # not even the first row ran
            self.assertRegex(p.stderr, r'^experiments: relu.diff \(patch failed: microgpt.py:\d+'
                             r'\), final_revision.diff \(patch failed: microgpt.py:\d+\): not '
                             r'applied to your microgpt.py: put back [^\n]+ with --re-port\n\Z')
            p = runner('shipped', root=d)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('on your microgpt.py, with num_steps = 3 (not as shipped)', p.stdout)
        self.assertEqual(re.findall(r'(?m)^\| (.+?) \| \d', p.stdout), ['your microgpt.py'])

    def test_re_port_fits_every_diff_to_a_change_beside_their_lines_and_names_the_rest(self):
        # A line shift near the top, and a comment beside dropout.diff's line (git apply refuses).
        text = harness.source()
        moved = text.replace('import math\n', 'import math\nimport re\n', 1).replace(
            'print("\\n--- inf', '# a comment, where dropout.diff writes\nprint("\\n--- inf', 1)
        self.assertIsNone(apply(moved, 'dropout'))
        broken = text.replace('relu() ** 2', 'relu() ** 3')  # a line two diffs change
        kept = lambda name, d: (parts(name, d)[0], [x for x in parts(name, d)[1] if x[:1] in '+-'])
        for new, people in (text, []), (moved, []), (broken, [ALONE, 'relu']):
            with tempfile.TemporaryDirectory() as d, contextlib.redirect_stderr(io.StringIO()):
                self.assertEqual(RUNNER.re_port(new, d), people)
                ported = [n for n in EXPECTED if n not in people]
                self.assertEqual(sorted(os.listdir(d)), [n + '.diff' for n in ported])
                same = parts if new is text else kept  # the whole diff as it was if nothing moved
                for name in ported:  # else its header and its changes kept
                    self.assertEqual(same(name, d), same(name, harness.EXPERIMENTS))
                    self.assertEqual(apply(apply(new, name, folder=d) or '', name, True, d), new)

    def test_the_picture_has_a_panel_for_each_run_its_label_and_line_over_the_shipped_band(self):
        fall = lambda top, steps: [top - k / steps for k in range(steps)]  # a tiny run's losses
        curves = [('relu', fall(3.1, 60), 27), ('functions', fall(3.4, 80), 40)]
        svg = ET.fromstring(RUNNER.svg((fall(3.0, 60), 27), curves, 'title', window=10))
        tag = lambda name: svg.iter('{http://www.w3.org/2000/svg}' + name)
        texts, lines = {t.text: t.get('x') for t in tag('text')}, list(tag('polyline'))
        xs = [[float(p.split(',')[0]) for p in line.get('points').split()] for line in lines]
        self.assertEqual([(line.get('stroke'), len(x)) for line, x in zip(lines, xs)],
                         [(RUNNER.GREY, 51), (RUNNER.COLOURS[0], 51),  # a grey band and a line
                          (RUNNER.GREY, 51), (RUNNER.COLOURS[1], 71)])  # each: 10-step means
        self.assertLessEqual(float(texts['functions']), min(xs[2] + xs[3]))  # in its own panel
        self.assertLessEqual({'relu', 'uniform guess over 27 tokens',
                              'uniform guess over 40 tokens'}, set(texts))

class WhatEachDoes(unittest.TestCase):
    def run_(self, steps, **settings):  # a narrow run through sampling, at its likeliest
        return harness.load('Inference', num_steps=steps, temperature=1e-4, **NARROW, **settings)

    def test_prompt_lr_schedule_and_gradient_log_leave_every_other_line_as_it_was(self):
        # prompt: after the prompt, read through the model first, its likeliest characters.
        plain = self.run_(8)['_stdout']
        for prompt in ('', 'ma', 'sebasti'):  # 'sebasti' leaves room for one in 8
            ns = self.run_(8, experiment='prompt', prompt=prompt)
            self.assertEqual(harness.samples(ns['_stdout']), [harness.greedy(ns, prompt)] * 20)
            self.assertEqual(ns['_stdout'].split('--- inf')[0], plain.split('--- inf')[0])
        for experiment, settings in (('lr_schedule', dict(lr_schedule='cosine', warmup_steps=0)),
                                     ('gradient_log', dict(grad_log_every=0))):  # 0: never
            self.assertEqual(self.run_(8, experiment=experiment, **settings)['_stdout'], plain)
        logged = self.run_(8, experiment='gradient_log', grad_log_every=3)['_stdout']
        self.assertEqual(([line for line in logged.splitlines() if line[:2] != '  '],
                          list(harness.gradient_logs(logged))), (plain.splitlines(), [1, 3, 6]))

    def test_lr_schedule_gives_the_rates_it_promises(self):
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
        xs, pairs = [0.3, -1.2, 2.5, 0.0, 7.1, -3.3], ['ln_emb', 'layer0.ln_1', 'layer0.ln_2']
        mean, sd = statistics.mean(xs), math.sqrt(statistics.pvariance(xs) + 1e-5)
        w = [[ns['Value'](2.0) for _ in xs], [ns['Value'](0.5) for _ in xs]]  # gains 2, biases 0.5
        for x, y in zip(xs, ns['layernorm']([ns['Value'](x) for x in xs], w)):
            self.assertAlmostEqual(y.data, 2.0 * (x - mean) / sd + 0.5, delta=1e-12)
        numbers = lambda sd: {k: [[p.data for p in row] for row in w] for k, w in sd.items()}
        self.assertEqual(numbers(ns['state_dict']), dict(numbers(plain['state_dict']), **{
            k: [[1.0] * 16, [0.0] * 16] for k in pairs}))  # the same draws, and the new pairs
        harness.randomize(ns)  # no zero matrices: a gradient reaches every norm
        harness.doc_loss(ns, 'alexander')[0].backward()
        for name in pairs:  # each pair is where gpt() uses it
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

    def test_held_out_names_scored_every_100_steps_with_dropout_off_and_its_draws_kept(self):
        # With dropout.diff too, the scoring uses every number and none of dropout's draws: the
        # step lines after it are dropout's alone. 300 names: none trained on twice by step 101.
        data = harness.read(os.path.join(harness.ROOT, 'input.txt')).split()[:300]
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, text=apply(harness.patched('dropout'), 'held_out'))
            both = os.path.join(d, 'microgpt.py')
            for script, experiment in (harness.SCRIPT, 'held_out'), (both, None):
                ns = harness.load('Training', data, script, experiment, num_steps=100, **NARROW)
                trained_on = [ns['docs'][step % len(ns['docs'])] for step in range(100)]
                reports = re.findall(r'(?m)^  mean loss now: (\d\.\d{4}) on the last 100 names '
                                     r'trained on, (\d\.\d{4}) on 30 held-out', ns['_stdout'])
                self.assertEqual((len(reports), sorted(ns['docs'] + ns['held_out']),
                                  set(trained_on) & set(ns['held_out'])), (1, sorted(data), set()))
                for names, printed in zip((trained_on, ns['held_out']), reports[0]):
                    mean = sum(harness.doc_loss(ns, n)[0].data for n in names) / len(names)
                    self.assertEqual(f'{mean:.4f}', printed, script)  # the weights of step 100
            self.assertEqual(*(harness.losses(harness.load('Training', data, script, name,
                                                           num_steps=101, **NARROW)['_stdout'])
                               for script, name in ((both, None), (harness.SCRIPT, 'dropout'))))

    def test_the_gradient_log_at_step_1_its_numbers(self):
        # attn_wo and mlp_fc2 start at zero, so nothing flows back through them at step 1: the
        # matrices before them get exactly zero gradient (and no update); lm_head's is not zero.
        ns, first = self.run_(1, experiment='gradient_log'), harness.load('Parameters', **NARROW)
        log = harness.gradient_logs(ns['_stdout'])[1]
        self.assertEqual(list(log), list(first['state_dict']))
        for name in ('attn_wq', 'attn_wk', 'attn_wv', 'mlp_fc1'):
            self.assertEqual(log[f'layer0.{name}'][1:], (0.0, 0.0), name)
        for name in ('attn_wo', 'mlp_fc2'):  # zero weights: no ratio yet
            self.assertEqual(log[f'layer0.{name}'][::2], (0.0, math.inf))
        old, new = ([p.data for row in n['state_dict']['wte'] for p in row] for n in (first, ns))
        rms = lambda xs: math.sqrt(sum(x * x for x in xs) / len(xs))
        self.assertEqual(log['wte'][::2], (float(f'{rms(old):.1e}'), float(
            f'{rms([a - b for a, b in zip(old, new)]) / rms(old):.1e}')))  # weight, update ratio
        self.assertGreater(min(log['wte'][1], log['lm_head'][1]), 0.0)

    @unittest.skipIf(sys.platform == 'win32', 'Windows cannot send SIGINT (Ctrl-C) to a child')
    def test_a_real_ctrl_c_stops_training_and_what_was_trained_is_saved_whole_and_loads(self):
        self.addCleanup(os.umask, os.umask(0o027))  # keeps out others: model.json too, as it must
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, data=harness.SMALL_NAMES, experiment='save_and_load', **NARROW)
            code, out, err = harness.interrupted(d)
            steps, names = len(harness.losses(out)), harness.samples(out)  # stopped early
            self.assertEqual((code, err, steps < 500, len(names)), (0, '', True, 20))
            self.assertRegex(out, r'\nsaved the trained model to model.json\n(?s:.*)--- inference')
            self.assertEqual(os.stat(os.path.join(d, 'model.json')).st_mode & 0o777, 0o640)
            saved = files(d)['model.json']
            with open(os.path.join(d, 'model.json'), 'w', encoding='utf-8-sig') as f:
                f.write(saved.decode())  # with a byte-order mark, as an editor may save it
            p = run(d, 'save_and_load', load_path='model.json')  # saved to where it was loaded from
            self.assertEqual((p.returncode, p.stderr, harness.losses(p.stdout), files(d),
                              harness.samples(p.stdout)),  # bit for bit; the names it made
                             (0, '', [], {'model.json': saved}, names))

    def test_a_failed_save_keeps_the_model_there_whole_and_leaves_no_file_and_says_so_last(self):
        # A weight not finite: json.dump fails halfway, after wte (written in place, model.json
        # would be left cut off); and a file another run saved there while this one trained.
        for nan, said in ((True, 'Out of range float values are not JSON compliant'),
                          (False, '{} appeared while this run trained')):
            with self.subTest(nan=nan), tempfile.TemporaryDirectory() as d:
                run(d, 'save_and_load', num_steps=2)
                path = os.path.join(d, 'model.json' if nan else 'other.json')
                ns = harness.load('Model', experiment='save_and_load', save_path=path, num_steps=2,
                                  load_path=path * nan, **NARROW)  # loaded: its own
                if nan:
                    ns['state_dict']['wpe'][7][0].data = math.nan
                else:  # another run's model, saved there while this one trains
                    shutil.copy(os.path.join(d, 'model.json'), path)
                first = files(d)
                harness.run_cell(ns, 'Training', 'save_and_load')
                self.assertEqual(files(d), first)  # byte for byte, and no file of its own
                ns['state_dict']['wpe'][7][0].data = 0.0  # a nan would stop the sampling
                with self.assertRaises(SystemExit) as stopped:
                    harness.run_cell(ns, 'Inference', 'save_and_load')
                self.assertEqual(len(harness.samples(ns['_stdout'])), 20)  # they came first
                self.assertTrue(str(stopped.exception).startswith(
                    f'microgpt: cannot save to {path}: ' + said.format(path)))

if __name__ == '__main__':
    unittest.main()
