"""The ladder in tests/ladder/: five rungs from counting pairs to microgpt.py. Each keeps the
settings it uses as microgpt.py's lines, with their guards, and microgpt.py's Data and Tokenizer
cells; each step is a diff of at most 60 lines, and the last is Adam and its schedule alone,
giving microgpt.py byte for byte. Rung 2's gradients by hand are rung 3's Value gradients; counted
pairs are the best any bigram can do, which gradient descent on the table nears from above. Every
rung runs on a bare Python (and on the oldest CPython found) and prints microgpt.py's lines."""
import difflib, math, os, random, re, shutil, sys, tempfile, unittest

import harness
from test_settings_and_data import SETTING_MISTAKES

sys.path.insert(0, os.path.join(harness.ROOT, 'tests', 'ci'))
import pythons

LADDER = os.path.join(harness.ROOT, 'tests', 'ladder')
RUNGS = sorted(os.path.join(LADDER, name) for name in os.listdir(LADDER)
               if re.match(r'\d_\w+\.py$', name))
STEPS = list(zip(RUNGS, RUNGS[1:] + [harness.SCRIPT]))
SETTING = re.compile(r'^([a-z_]\w*(?:, [a-z_]\w*)*) = .*$', re.M)
# The lines that say how weights move: plain gradient descent's (rung 5), Adam's (microgpt.py).
OPTIMIZER = re.compile(r'learning_rate|beta|eps_adam|Adam|^# Learn|^[mv] = |lr_t|for (i, )?p in')
# Names of one length: each pair then weighs the same in a name's mean loss as in the counts.
FIVES = [name for name in harness.SMALL_NAMES if len(name) == 5]

def cells(script):
    return dict(harness.cells(harness.read(script)))

def lines(script):
    return harness.read(script).split('\n')

def changed(before, after):
    """The lines `diff -u before after` adds and removes."""
    diff = difflib.unified_diff(lines(before), lines(after), lineterm='')
    return [line for line in diff if line[:1] in '+-' and not line.startswith(('+++', '---'))]

def settings(script):
    """{name: its line} for each `name = value` line of the script's Settings cell."""
    return {m.group(1): m.group(0) for m in SETTING.finditer(cells(script)['Settings'])}

def stopped(text):
    """The one line the text's header and Settings cell stop with, or None if they run through."""
    try:
        exec(compile(''.join(code for _, code in harness.cells(text)[:2]), 'settings', 'exec'), {})
    except SystemExit as e:
        return str(e.code)
    return None

def subsequence(part, whole):
    rest = iter(whole)
    return all(line in rest for line in part)

class Rungs(unittest.TestCase):
    def test_five_rungs_in_microgpts_cells_and_lines(self):
        self.assertEqual(len(RUNGS), 5)
        ours = harness.cells(harness.read(harness.SCRIPT))
        shared = [code for title, code in ours if title in ('Data', 'Tokenizer')]
        header = ours[0][1].split('\n')  # the imports, then check()
        long = [line for line in lines(harness.SCRIPT) if len(line) > 100]  # the reference's
        for rung in RUNGS:
            with self.subTest(rung=os.path.basename(rung)):
                theirs = harness.cells(harness.read(rung))
                self.assertTrue(subsequence([t for t, _ in theirs], [t for t, _ in ours]))
                self.assertEqual([code for t, code in theirs if t in ('Data', 'Tokenizer')], shared)
                top = theirs[0][1].split('\n')
                self.assertTrue(subsequence(top[0].split(), header[0].split()), top[0])
                self.assertEqual(top[1:], header[1:])
                for title, code in theirs[1:]:  # each opened by a comment, after a blank line
                    self.assertTrue(code.split('\n')[1].startswith('# '), title)
                    self.assertTrue(harness.read(rung).count(f'\n\n# %% {title}\n'), title)
                self.assertEqual([line for line in lines(rung) if len(line) > 100
                                  and line not in long], [])

    def test_the_settings_are_microgpts_lines_with_its_guards(self):
        ours = settings(harness.SCRIPT)
        mistakes = [(setting, value, stopped(harness.source(**{setting: value})))
                    for setting, value, _ in SETTING_MISTAKES]
        for rung in RUNGS:
            theirs = settings(rung)
            with self.subTest(rung=os.path.basename(rung)):
                for name, line in theirs.items():  # plain gradient descent has a rate of its own
                    if name == 'learning_rate':
                        self.assertRegex(line, r'^learning_rate = [\d.]+ +# ')
                    else:
                        self.assertEqual(line, ours[name])
                self.assertIsNone(stopped(harness.read(rung)))
            for setting, value, expected in mistakes:
                if setting in theirs and ('n_head' in theirs or 'n_head' not in expected):
                    with self.subTest(rung=os.path.basename(rung), setting=setting, value=value):
                        self.assertEqual(stopped(harness.source(rung, **{setting: value})),
                                         expected)

    def test_the_engine_is_microgpts(self):
        ours = cells(harness.SCRIPT)['Autograd'].split('\n')
        for rung in RUNGS[2:]:  # rung 2 has numbers and gradients, and no engine yet
            with self.subTest(rung=os.path.basename(rung)):
                theirs = cells(rung)['Autograd'].split('\n')
                self.assertTrue(subsequence(theirs, ours))
                self.assertLessEqual(len(ours) - len(theirs), 5)  # relu, two unused, __slots__

class Steps(unittest.TestCase):
    def test_each_step_is_a_diff_of_at_most_60_lines(self):
        for before, after in STEPS:
            with self.subTest(step=os.path.basename(after)):
                size = len(changed(before, after))
                self.assertTrue(0 < size <= 60, f'{size} changed lines')

    def test_the_last_step_is_adam_and_its_schedule_and_nothing_else(self):
        step = changed(RUNGS[-1], harness.SCRIPT)
        self.assertEqual([line for line in step if not OPTIMIZER.search(line[1:])], [])
        self.assertTrue(any('math.cos' in line for line in step if line[0] == '+'))

    @unittest.skipIf(shutil.which('git') is None, 'git is not installed (CI installs it)')
    def test_the_last_steps_diff_applied_to_rung_5_gives_microgpt_py_byte_for_byte(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, 'step.diff'), 'w', encoding='utf-8') as f:
                f.writelines(difflib.unified_diff(harness.read(RUNGS[-1]).splitlines(True),
                                                  harness.read(harness.SCRIPT).splitlines(True),
                                                  'a/microgpt.py', 'b/microgpt.py'))
            landed = harness.git_apply(os.path.join(d, 'step.diff'), harness.read(RUNGS[-1]))
            with open(harness.SCRIPT, encoding='utf-8', newline='') as f:
                self.assertEqual(landed, f.read())  # byte for byte

class Bigrams(unittest.TestCase):
    def test_rung_2s_gradients_by_hand_are_rung_3s_value_gradients(self):
        start = None
        for doc in ['sebastian', 'emma', 'ava']:  # cut short; a pair twice; a row twice
            grads = []
            for rung in RUNGS[1:3]:
                ns = harness.load('Model', script=rung)
                start = start or [random.Random(0).gauss(0, 1) for _ in ns['params']]
                for p, x in zip(ns['params'], start):  # random weights: no softmax near uniform
                    p.data = x
                ns.update(docs=[doc], num_steps=1, learning_rate=1.0)
                harness.run_code(cells(rung)['Training'], ns)  # one step: weight - 1 * gradient
                grads.append([x - p.data for p, x in zip(ns['params'], start)])
            scale = max(abs(g) for g in grads[1])
            self.assertGreater(scale, 0.01)
            self.assertLessEqual(max(abs(a - b) for a, b in zip(*grads)), 1e-12 * scale, doc)

    def test_counting_is_the_best_bigram_and_gradient_descent_nears_it_from_above(self):
        counts = harness.load('Training', data=FIVES, script=RUNGS[0],
                              num_steps=len(FIVES))['counts']
        pairs = sum(map(sum, counts))
        self.assertEqual(pairs, 6 * len(FIVES))  # every pair of every name, once
        best = -sum(c * math.log(c / sum(row)) for row in counts for c in row if c) / pairs
        ns = harness.load('Model', data=FIVES, script=RUNGS[1], num_steps=len(FIVES))

        def loss():  # the table's mean loss on the names, as every rung measures it
            total = 0
            for doc in FIVES:
                tokens = [ns['BOS']] + [ns['uchars'].index(ch) for ch in doc] + [ns['BOS']]
                total += sum(-math.log(ns['softmax'](ns['bigram'](a))[b])
                             for a, b in zip(tokens, tokens[1:])) / 6
            return total / len(FIVES)
        gaps = []
        for epoch in range(300):
            ns['learning_rate'] = 5 if epoch < 150 else 1
            harness.run_code(cells(RUNGS[1])['Training'], ns)  # a pass over the names
            gaps.append(loss() - best)
        self.assertGreaterEqual(min(gaps), -1e-12)  # never below the counts
        self.assertGreater(gaps[0], 0.5)
        self.assertLess(gaps[-1], 0.01)  # and close to them, trained long

class Runs(unittest.TestCase):
    def test_every_rung_runs_on_a_bare_python_and_prints_microgpts_lines(self):
        found = [path for label, path in pythons.pythons() if path and label.startswith('cpython')]
        shape = lambda out: [re.sub(r'\d+', '0', line.split(':')[0] if line[:7] == 'sample ' else
                                    line) for line in out.split('\n')]  # no numbers, no names
        outs = {}
        for python in [sys.executable] + found[:1]:  # and the oldest CPython found (3.6 in CI)
            for script in RUNGS + [harness.SCRIPT]:
                small = dict(num_steps=3, **({'n_embd': 4} if 'n_embd' in settings(script) else {}))
                with self.subTest(python=python, script=os.path.basename(script)), \
                        tempfile.TemporaryDirectory() as d:
                    harness.prepare(d, data=harness.SMALL_NAMES, script=script, **small)
                    p = harness.execute(d, os.path.basename(script), python, flags=('-I', '-S'))
                    self.assertEqual((p.returncode, p.stderr), (0, ''))
                    outs[python, script] = p.stdout
        for (python, script), out in outs.items():
            ours = shape(outs[python, harness.SCRIPT])
            if script == RUNGS[0]:  # counting has no parameters to print
                ours = [line for line in ours if not line.startswith('num params')]
            self.assertEqual(shape(out), ours, script)
            self.assertEqual(len(harness.samples(out)), 20)
        first = harness.losses(outs[sys.executable, RUNGS[0]])[0]  # no counts yet: uniform
        self.assertEqual(first, round(math.log(len(set(''.join(harness.SMALL_NAMES))) + 1), 4))
        self.assertEqual(outs[sys.executable, RUNGS[1]], outs[sys.executable, RUNGS[2]])

if __name__ == '__main__':
    unittest.main()
