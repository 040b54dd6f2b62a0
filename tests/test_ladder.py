"""The ladder, tests/ladder/: lean rungs to microgpt.py, one idea a step of at most 60 lines, no
guard in any (the last step is the lines microgpt.py has that the last rung lacks, each a guard's);
rung 2's gradients by hand; the counts the best bigram; held_out.py trains on none it scores."""
import difflib, math, os, re, shutil, subprocess, unittest, unittest.mock

import harness, program

LADDER = os.path.join(program.ROOT, 'tests', 'ladder')
RUNGS = sorted(os.path.join(LADDER, n) for n in os.listdir(LADDER) if re.match(r'\d\d_\w+\.py$', n))
NAME = {path: os.path.basename(path)[:-3] for path in RUNGS + [program.SCRIPT]}
held_out = program.tool('tests/ladder/held_out.py')
pictures = program.tool('tests/ladder/pictures.py')
# The cells each step changes; every other cell stays as the rung before has it.
S, A, P, M, T, I = 'Settings', 'Autograd', 'Parameters', 'Model', 'Training', 'Inference'
CHANGES = {'02_bigram_by_hand': [S, A, P, M, T, I], '03_bigram_autograd': [A, M, T, I],
           '04_token_vectors': [S, P, M], '05_positions': [S, P, M, T, I], '06_rmsnorm': [M],
           '07_mean_context': [S, P, M, T, I], '08_attention': [P, M, T, I], '09_heads': [S, P, M],
           '10_mlp': [A, P, M], '11_adam': [S, T], '12_cosine_schedule': [T]}
# What gives a guard (or a line serving one) away: every line the last step adds matches one.
GUARDS = [r'\bsys\b', r'\bgc\b', r'KeyboardInterrupt|Ctrl-C', r'recursionlimit|sysconf',
          r'input_path|utf-8-sig|\.download|os\.replace|encoding', r'loss_history|\brecent\b',
          r"uniform guess|\bneed\b|graph_bytes|\blongest\b(?! context)|'lower ", r'= None\b',
          r'^\s*(try:|except\b)', r'probs\[target_id\]\.data', r'del build_topo',
          r'__r(sub|truediv)__', r'^\s*#(?! %%)']  # or a comment's line
FIVES = [name for name in harness.SMALL_NAMES if len(name) == 5]  # each pair weighs the same

lines = lambda path: program.read(path).split('\n')
cells = lambda path: dict(program.cells(program.read(path)))
squeezed = lambda line: ''.join(line.split())

def changed(before, after, key=lambda line: line):  # the +/- lines of diff -u (-uw: squeezed)
    diff = difflib.unified_diff([key(l) for l in before], [key(l) for l in after], lineterm='')
    return [line for line in diff if line[:1] in '+-' and not line.startswith(('+++', '---'))]

def load(path, upto=I, data=None, **changes):  # harness.load for a rung: quick unless changes say
    quick = {'num_steps': 3, **({'n_embd': 4} if 'n_embd' in cells(path)[S] else {}), **changes}
    return harness.load(upto, data, path, **quick)  # 3 steps, 4 wide

class Rungs(unittest.TestCase):
    def test_ten_rungs_or_more_in_microgpts_cells_rung_1_within_70_lines(self):
        self.assertEqual([NAME[r] for r in RUNGS], ['01_counting'] + list(CHANGES))
        for rung in RUNGS:
            rest = iter(cells(program.SCRIPT))  # the cells in microgpt.py's order
            self.assertTrue(all(title in rest for title in cells(rung)), rung)
        self.assertLessEqual(len(program.read(RUNGS[0]).splitlines()), 70)
        self.assertEqual(['wpe' in program.read(r) for r in RUNGS[3:5]], [False, True])
        self.assertEqual(['attn_wq' in program.read(r) for r in RUNGS[6:8]], [False, True])

    def test_no_rung_has_a_guard_nor_any_line_the_last_step_adds(self):
        added = {line[1:] for line in changed(lines(RUNGS[-1]), lines(program.SCRIPT), squeezed)
                 if line[0] == '+'}
        for line in lines(program.SCRIPT):  # the lines microgpt.py has that the last rung lacks
            if line.strip() and squeezed(line) in added:
                self.assertTrue(any(re.search(g, line) for g in GUARDS), line)
        for rung in RUNGS:
            code = [l for l in lines(rung) if l.strip() and not l.lstrip().startswith('#')]
            self.assertEqual([l for l in code if any(re.search(g, l) for g in GUARDS) or
                              squeezed(l) in added], [], NAME[rung])

    def test_each_step_is_a_diff_of_at_most_60_lines_leaving_the_other_cells_alone(self):
        for before, after in zip(RUNGS, RUNGS[1:]):
            self.assertTrue(0 < len(changed(lines(before), lines(after))) <= 60, NAME[after])
            ours, theirs = cells(before), cells(after)
            self.assertEqual([t for t in theirs if theirs[t] != ours.get(t)], CHANGES[NAME[after]])

    def test_every_engine_operation_a_rung_has_it_uses(self):
        for script in RUNGS[2:] + [program.SCRIPT]:
            ns, used = load(script, A), set()  # from here on, each operation counted when used
            ops = {n: op for n, op in vars(ns['Value']).items()
                   if callable(op) and n not in ('__init__', 'backward')}
            for n, op in ops.items():
                setattr(ns['Value'], n, lambda *a, op=op, n=n: used.add(n) or op(*a))
            load(script, ns=ns, start=P)  # the cells after Autograd
            self.assertEqual(set(ops) - used, {'__rsub__', '__rtruediv__'} if script ==
                             program.SCRIPT else set(), NAME[script])  # microgpt.py's: both ways

    @unittest.skipIf(shutil.which('diff') is None, 'needs diff')
    def test_the_readme_gives_each_steps_changed_lines_as_diff_counts_them(self):
        count = lambda flag, a, b: str(sum(l[:1] in '+-' for l in subprocess.run(
            ['diff', flag, a, b], capture_output=True, text=True).stdout.splitlines()[2:]))
        want = [(count('-u', a, b), '') for a, b in zip(RUNGS, RUNGS[1:])]
        want.append((count('-uw', RUNGS[-1], program.SCRIPT), count('-u', RUNGS[-1],
                                                                    program.SCRIPT)))
        said = re.findall(r'(?m)^\| \d+ \|.*`diff -uw? \S+ \S+` \| (\d+)(?: \((\d+) with)?',
                          program.read(os.path.join(LADDER, 'README.md')))
        self.assertEqual(said, want)

    def test_the_last_step_is_60_lines_and_the_loop_put_under_try(self):
        before, after = lines(RUNGS[-1]), lines(program.SCRIPT)
        plain, squeezed_step = changed(before, after), changed(before, after, squeezed)
        self.assertLessEqual(len(squeezed_step), 60)  # as `diff -uw` counts
        loop = before[before.index('for step in range(num_steps):'):]
        loop = loop[:loop.index('')]  # the training loop, up to the blank line after it
        self.assertTrue(all('-' + line in plain and '+    ' + line in plain for line in loop))
        self.assertEqual(len(plain), len(squeezed_step) + 2 * len(loop))  # it alone moves

class Runs(unittest.TestCase):  # the rungs run, and held_out.py
    def test_rung_2s_gradients_by_hand_are_rung_3s_value_gradients(self):
        for doc in ['sebastian', 'emma', 'ava']:  # long; a pair twice; a row twice
            grads = []
            for rung in RUNGS[1:3]:
                ns = load(rung, M)
                harness.randomize(ns)  # random weights: no softmax near uniform
                start = [p.data for p in ns['params']]
                ns.update(docs=[doc], num_steps=1, learning_rate=1.0)
                harness.run_code(cells(rung)[T], ns, rung, upto=T)  # one step: weight - gradient
                grads.append([x - p.data for p, x in zip(ns['params'], start)])
            scale = max(abs(g) for g in grads[1])
            self.assertGreater(scale, 0.01)
            self.assertLessEqual(max(abs(a - b) for a, b in zip(*grads)), 1e-12 * scale, doc)

    def test_counting_is_the_best_bigram_and_gradient_descent_nears_it_from_above(self):
        counts = load(RUNGS[0], T, FIVES, num_steps=len(FIVES))['counts']
        pairs = sum(map(sum, counts))
        self.assertEqual(pairs, 6 * len(FIVES))  # every pair of every name, once
        best = -sum(c * math.log(c / sum(row)) for row in counts for c in row if c) / pairs
        ns, gaps = load(RUNGS[1], M, FIVES, num_steps=len(FIVES)), []
        for epoch in range(300):
            ns['learning_rate'] = 5 if epoch < 150 else 1
            harness.run_code(cells(RUNGS[1])[T], ns, RUNGS[1], upto=T)  # a pass over the names
            gaps.append(held_out.score(ns, ns['bigram'], FIVES)[0] - best)  # per pair: a five's 6
        self.assertGreaterEqual(min(gaps), -1e-12)  # never below the counts
        self.assertGreater(gaps[0], 0.5)
        self.assertLess(gaps[-1], 0.01)  # and close to them, trained long

    def test_every_rung_runs_and_prints_microgpts_lines(self):
        shape = lambda out: [re.sub(r'\d+', '0', line.split(':')[0] if line[:7] == 'sample ' else
                                    line) for line in out.split('\n')]  # no numbers, no names
        plain = '\n'.join(line for line in load(program.SCRIPT)['_stdout'].split('\n')
                          if not line.startswith('mean loss'))  # a guard's: a lesson has no mean
        outs = {rung: load(rung)['_stdout'] for rung in RUNGS}
        for rung in RUNGS:
            self.assertEqual(shape(outs[rung]), [line for line in shape(plain) if rung !=
                             RUNGS[0] or not line.startswith('num params')], NAME[rung])
        self.assertEqual(outs[RUNGS[1]], outs[RUNGS[2]])  # autograd: the same numbers
        self.assertEqual(load(RUNGS[8], n_head=1)['_stdout'], outs[RUNGS[7]])  # one head of several
        self.assertEqual(outs[RUNGS[-1]], plain)  # the guards change no number

    def test_the_pictures_draw_the_rungs_own_counts_and_weights(self):
        run = held_out.run  # quick: 20 held out
        with unittest.mock.patch.object(held_out, 'run', lambda p, steps: run(p, steps, names=20)):
            (counts, _), (attention, _) = pictures.counts_picture(9), pictures.attention_picture(3)
        titled = lambda svg: [(k, float(v)) for k, v in re.findall(r'<title>(.+?): ([^<]+)<', svg)]
        counts, weights = dict(titled(counts)), titled(attention)  # rung 7's grid, then rung 8's
        self.assertEqual(sum(v for k, v in counts.items() if k.startswith('BOS ')), 9)  # 9 names
        self.assertEqual(sum(counts.values()), 9 + sum(len(d) for d in run(RUNGS[0], 9,
                         names=20)[0]['docs'].read))  # each pair of the 9 names, their ends too
        plain, learned = dict(weights[:36]), dict(weights[36:])  # 8 rows: 1 + 2 + ... + 8 cells
        for i in range(8):  # each row sums to 1 (to 3 figures); rung 7's, a plain mean
            self.assertAlmostEqual(sum(learned[f'{i} {t}'] for t in range(i + 1)), 1, delta=0.01)
            self.assertEqual(plain[f'{i} {i}'], float(f'{1 / (i + 1):.3g}'))

    def test_the_held_out_names_are_never_trained_on(self):
        data = harness.SMALL_NAMES + ['emma', 'ava', 'noah']  # names twice, as input.txt has
        for rung, seed in [(RUNGS[0], None), (RUNGS[0], 7), (RUNGS[7], None)]:
            with harness.folder(data) as d:
                ns, names, loss, count, _ = held_out.run(rung, 100, seed, 10, d)
            self.assertEqual(set(ns['docs']), set(data) - names)  # every copy set aside
            self.assertEqual(ns['docs'].read, set(ns['docs']))  # what Training read: all
            self.assertTrue(0 < loss < 2 * math.log(ns['vocab_size']) and count > 10)
            self.assertEqual(names, held_out.held_out_names(data, 10))  # any seed, any rung

    def test_a_rung_anywhere_runs_in_the_repositorys_root(self):
        with harness.folder(['ab', 'ba', 'abba']) as d:  # another input.txt, beside the copy
            shutil.copy(RUNGS[0], os.path.join(d, 'try.py'))
            ns, names, _, _, _ = held_out.run(os.path.join(d, 'try.py'), steps=3)
        with open(os.path.join(program.ROOT, 'input.txt'), encoding='utf-8') as f:
            self.assertEqual(len(set(ns['docs']) | names), len(set(f.read().split())))

    def test_what_cannot_be_scored_stops_in_one_line_before_training(self):
        odd = harness.SMALL_NAMES + ['zoë']  # its 'ë' in no other name: held out, with this k
        k = next(k for k in range(1, 46) if 'zoë' in held_out.held_out_names(odd, k))
        for k, said in [(0, '--names 0'), (46, '--names 46'), (k, 'ë')]:
            with harness.folder(odd) as d, self.assertRaises(SystemExit) as stop:
                held_out.run(RUNGS[0], 10 ** 9, None, k, d)  # training would never end
            self.assertIn(said, str(stop.exception))
            self.assertEqual(len(str(stop.exception).splitlines()), 1)

if __name__ == '__main__':
    unittest.main()
