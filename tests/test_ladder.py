"""The ladder in tests/ladder/: eight lean rungs, counting pairs to microgpt.py, one idea a step.
No rung has any of microgpt.py's guards: they, and nothing of the lessons, are the last step, which
lands on microgpt.py byte for byte. Each step is a diff of at most 60 changed lines (the last one
with its re-indentation under `try:` set aside); cells a step leaves alone are equal to the rung
before's, and every engine operation a rung has, it uses. Rung 2's gradients by hand are rung 3's
Value gradients; counted pairs are the best any bigram can do, which gradient descent on the table
nears from above. Every rung runs on a bare Python and prints microgpt.py's lines (not its mean
loss); rung 8 prints microgpt.py's very lines, guards and all changing no number. held_out.py
never trains a rung on the names it scores it on."""
import contextlib, difflib, io, math, os, random, re, runpy, shutil, subprocess, sys, tempfile
import unittest, warnings

import harness

LADDER = os.path.join(harness.ROOT, 'tests', 'ladder')
RUNGS = sorted(os.path.join(LADDER, name) for name in os.listdir(LADDER)
               if re.match(r'\d_\w+\.py$', name))
STEPS = list(zip(RUNGS, RUNGS[1:] + [harness.SCRIPT]))
NAME = {path: os.path.basename(path)[:-3] for path in RUNGS + [harness.SCRIPT]}
# The cells each step changes; every other cell stays as the rung before has it.
CHANGES = {
    '2_bigram_by_hand': {'Settings', 'Autograd', 'Parameters', 'Model', 'Training', 'Inference'},
    '3_bigram_autograd': {'Autograd', 'Model', 'Training', 'Inference'},
    '4_embeddings': {'Settings', 'Parameters', 'Model', 'Training', 'Inference'},
    '5_mlp': {'Settings', 'Autograd', 'Parameters', 'Model'},
    '6_attention': {'Settings', 'Parameters', 'Model', 'Training', 'Inference'},
    '7_heads': {'Settings', 'Parameters', 'Model'},
    '8_adam': {'Settings', 'Training'},
    'microgpt': {'', 'Settings', 'Data', 'Tokenizer', 'Autograd', 'Parameters', 'Training',
                 'Inference'},
}
# microgpt.py's guards, by what gives each away; each must match microgpt.py and no rung.
GUARDS = [r'\bsys\.exit\(', r'\bgc\b', r'KeyboardInterrupt', r'recursionlimit', r'input_path',
          r'loss_history', r'sysconf', r'utf-8-sig', r'\.download', r'os\.replace', r'encoding',
          r'^\s*try:', r'^\s*except\b', r'mean loss', r'= None\b', r'^import .*\bsys\b']
FIVES = [name for name in harness.SMALL_NAMES if len(name) == 5]  # each pair weighs the same

def lines(path):
    return harness.read(path).split('\n')

def cells(path):
    return dict(harness.cells(harness.read(path)))

def changed(before, after, key=lambda line: line):
    """The lines `diff -u before after` adds and removes (`diff -uw` with key=squeezed)."""
    diff = difflib.unified_diff([key(l) for l in before], [key(l) for l in after], lineterm='')
    return [line for line in diff if line[:1] in '+-' and not line.startswith(('+++', '---'))]

def squeezed(line):
    return ''.join(line.split())

def with_settings(text, **settings):
    """The text with each `name = value` setting line given a new value (its comment kept)."""
    for name, value in settings.items():
        text, found = re.subn(rf'(?m)^{name} = [^#\n]*?(\s*#.*)?$',
                              lambda m: f'{name} = {value!r}{m.group(1) or ""}', text)
        assert found == 1, (name, found)
    return text

@contextlib.contextmanager
def quiet():  # the reference's `open('input.txt').read()` leaves the file to be closed when freed
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', ResourceWarning)
        yield

@contextlib.contextmanager
def folder_with(data):
    """A new folder, made the current one, holding input.txt with these names."""
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix='ladder-') as d:
        with open(os.path.join(d, 'input.txt'), 'w', encoding='utf-8') as f:
            f.write('\n'.join(data) + '\n')
        os.chdir(d)
        try:
            yield d
        finally:
            os.chdir(here)

def run_cells(path, upto, data=harness.SMALL_NAMES, ns=None, after=None, **settings):
    """The script's cells run in a namespace through the one titled `upto`, on `data` (in ns,
    from the cell after the one titled `after`)."""
    ns = {'__name__': '__main__'} if ns is None else ns
    started = after is None
    with folder_with(data), contextlib.redirect_stdout(io.StringIO()), quiet():
        for title, code in harness.cells(with_settings(harness.read(path), **settings)):
            if started:
                exec(compile(code, path, 'exec'), ns)
            started = started or title == after
            if title == upto:
                return ns
    raise AssertionError(f'{path} has no cell {upto!r}')

def small(path):  # settings that make a run quick
    return dict(num_steps=3, **({'n_embd': 4} if re.search(r'(?m)^n_embd = ', harness.read(path))
                                else {}))

class Rungs(unittest.TestCase):
    def test_eight_rungs_in_microgpts_cells_rung_1_within_70_lines(self):
        self.assertEqual([NAME[r] for r in RUNGS], ['1_counting'] + list(CHANGES)[:-1])
        ours = [title for title, _ in harness.cells(harness.read(harness.SCRIPT))]
        for rung in RUNGS:
            theirs = [title for title, _ in harness.cells(harness.read(rung))]
            rest = iter(ours)
            self.assertTrue(all(title in rest for title in theirs), rung)
        self.assertLessEqual(len(harness.read(RUNGS[0]).splitlines()), 70)

    def test_no_rung_has_a_guard(self):
        ours = lines(harness.SCRIPT)
        for guard in GUARDS:  # each names something microgpt.py has
            self.assertTrue(any(re.search(guard, line) for line in ours), guard)
        step = changed(lines(RUNGS[-1]), ours, squeezed)  # the loop, moved, is not added
        added = {line[1:] for line in step if line[0] == '+'}
        for rung in RUNGS:
            with self.subTest(rung=NAME[rung]):
                code = [line for line in lines(rung) if line.strip()]
                self.assertEqual([l for l in code for g in GUARDS if re.search(g, l)], [])
                self.assertEqual([l for l in code if squeezed(l) in added], [])  # nor a line of it

    def test_the_settings_are_microgpts_lines(self):
        setting = re.compile(r'(?m)^(\w+(?:, \w+)*) = .*$')
        ours = {m.group(1): m.group(0) for m in setting.finditer(cells(harness.SCRIPT)['Settings'])}
        for rung in RUNGS:
            theirs = {m.group(1): m.group(0) for m in setting.finditer(cells(rung)['Settings'])}
            with self.subTest(rung=NAME[rung]):
                for name, line in theirs.items():
                    if name == 'learning_rate':  # plain gradient descent has a rate of its own
                        self.assertRegex(line, r'^learning_rate = [\d.]+ +# ')
                    elif name == 'block_size' and 'attn_wq' not in harness.read(rung):
                        self.assertRegex(line, r"^block_size = 8 +# positions the model knows")
                    else:
                        self.assertEqual(line, ours[name])
                # the context a model reads arrives with the model that reads more than a token
                self.assertEqual('block_size' in theirs, 'wpe' in harness.read(rung))

    def test_cells_a_step_leaves_alone_are_the_rung_befores(self):
        for before, after in STEPS:
            ours, theirs = cells(before), cells(after)
            with self.subTest(step=NAME[after]):
                self.assertEqual(sorted(title for title in theirs if theirs[title] !=
                                        ours.get(title)), sorted(CHANGES[NAME[after]]))

    def test_every_engine_operation_a_rung_has_it_uses(self):
        for script in RUNGS[2:] + [harness.SCRIPT]:
            ns = run_cells(script, 'Autograd', **small(script))
            used = set()
            for name, op in list(vars(ns['Value']).items()):
                if callable(op) and name not in ('__init__', 'backward'):
                    def counted(*args, op=op, name=name):
                        used.add(name)
                        return op(*args)
                    setattr(ns['Value'], name, counted)
            ops = {n for n, op in vars(ns['Value']).items() if callable(op)} - {'__init__',
                                                                                'backward'}
            run_cells(script, 'Inference', ns=ns, after='Autograd', **small(script))
            with self.subTest(script=NAME[script]):  # microgpt.py's engine has both ways round
                self.assertEqual(ops - used, {'__rsub__', '__rtruediv__'} if script ==
                                 harness.SCRIPT else set())

class Steps(unittest.TestCase):
    def test_each_step_is_a_diff_of_at_most_60_lines(self):
        for before, after in STEPS[:-1]:
            with self.subTest(step=NAME[after]):
                self.assertTrue(0 < len(changed(lines(before), lines(after))) <= 60)

    def test_the_last_step_is_60_lines_and_the_loop_put_under_try(self):
        before, after = lines(RUNGS[-1]), lines(harness.SCRIPT)
        plain, squeezed_step = changed(before, after), changed(before, after, squeezed)
        self.assertLessEqual(len(squeezed_step), 60)  # as `diff -uw` counts
        loop = before[before.index('for step in range(num_steps):'):]
        loop = loop[:loop.index('')]  # the training loop, up to the blank line after it
        moved = [line for line in plain if line[0] == '-' and squeezed(line[1:]) not in
                 {squeezed(l[1:]) for l in squeezed_step}]
        self.assertEqual([line[1:] for line in moved], loop)  # the rest: the same, 4 further in
        self.assertTrue(all('+    ' + line in plain for line in loop))
        self.assertEqual(len(plain), len(squeezed_step) + 2 * len(loop))

    @unittest.skipIf(shutil.which('git') is None, 'git is not installed')
    def test_the_last_steps_diff_applied_to_the_last_rung_gives_microgpt_py_byte_for_byte(self):
        with open(harness.SCRIPT, encoding='utf-8', newline='') as f:
            ours = f.read()
        diff = ''.join(difflib.unified_diff(harness.read(RUNGS[-1]).splitlines(True),
                                            ours.splitlines(True), 'a/microgpt.py',
                                            'b/microgpt.py'))
        with tempfile.TemporaryDirectory(prefix='ladder-') as d:
            with open(os.path.join(d, 'step.diff'), 'w', encoding='utf-8', newline='') as f:
                f.write(diff)
            self.assertEqual(harness.git_apply(os.path.join(d, 'step.diff'),
                                               harness.read(RUNGS[-1])), ours)

class Bigrams(unittest.TestCase):
    def test_rung_2s_gradients_by_hand_are_rung_3s_value_gradients(self):
        start = None
        for doc in ['sebastian', 'emma', 'ava']:  # long; a pair twice; a row twice
            grads = []
            for rung in RUNGS[1:3]:
                ns = run_cells(rung, 'Model')
                start = start or [random.Random(0).gauss(0, 1) for _ in ns['params']]
                for p, x in zip(ns['params'], start):  # random weights: no softmax near uniform
                    p.data = x
                ns.update(docs=[doc], num_steps=1, learning_rate=1.0)
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(cells(rung)['Training'], ns)  # one step: weight - 1 * gradient
                grads.append([x - p.data for p, x in zip(ns['params'], start)])
            scale = max(abs(g) for g in grads[1])
            self.assertGreater(scale, 0.01)
            self.assertLessEqual(max(abs(a - b) for a, b in zip(*grads)), 1e-12 * scale, doc)

    def test_counting_is_the_best_bigram_and_gradient_descent_nears_it_from_above(self):
        counts = run_cells(RUNGS[0], 'Training', FIVES, num_steps=len(FIVES))['counts']
        pairs = sum(map(sum, counts))
        self.assertEqual(pairs, 6 * len(FIVES))  # every pair of every name, once
        best = -sum(c * math.log(c / sum(row)) for row in counts for c in row if c) / pairs
        ns = run_cells(RUNGS[1], 'Model', FIVES, num_steps=len(FIVES))

        def loss():  # the table's mean loss on the names
            total = 0
            for doc in FIVES:
                tokens = [ns['BOS']] + [ns['uchars'].index(ch) for ch in doc] + [ns['BOS']]
                total += sum(-math.log(ns['softmax'](ns['bigram'](a))[b])
                             for a, b in zip(tokens, tokens[1:])) / 6
            return total / len(FIVES)
        gaps = []
        for epoch in range(300):
            ns['learning_rate'] = 5 if epoch < 150 else 1
            with contextlib.redirect_stdout(io.StringIO()):
                exec(cells(RUNGS[1])['Training'], ns)  # a pass over the names
            gaps.append(loss() - best)
        self.assertGreaterEqual(min(gaps), -1e-12)  # never below the counts
        self.assertGreater(gaps[0], 0.5)
        self.assertLess(gaps[-1], 0.01)  # and close to them, trained long

class Runs(unittest.TestCase):
    def run_bare(self, path, **settings):
        """What the script prints, run as a program on a bare Python (-I -S) on SMALL_NAMES."""
        with folder_with(harness.SMALL_NAMES) as d:
            with open(os.path.basename(path), 'w', encoding='utf-8') as f:
                f.write(with_settings(harness.read(path), **dict(small(path), **settings)))
            p = subprocess.run([sys.executable, '-I', '-S', os.path.basename(path)], cwd=d,
                               capture_output=True, text=True, encoding='utf-8', timeout=300)
        self.assertEqual((p.returncode, p.stderr), (0, ''), path)
        return p.stdout

    def test_every_rung_runs_on_a_bare_python_and_prints_microgpts_lines(self):
        shape = lambda out: [re.sub(r'\d+', '0', line.split(':')[0] if line[:7] == 'sample ' else
                                    line) for line in out.split('\n')]  # no numbers, no names
        plain = '\n'.join(line for line in self.run_bare(harness.SCRIPT).split('\n')
                          if not line.startswith('mean loss'))  # a guard's: a lesson has no mean
        ours = shape(plain)
        outs = {}
        for rung in RUNGS:
            with self.subTest(rung=NAME[rung]):
                outs[rung] = self.run_bare(rung)
                expected = [line for line in ours if rung != RUNGS[0] or  # counting: no params
                            not line.startswith('num params')]
                self.assertEqual(shape(outs[rung]), expected)
                self.assertEqual(len([l for l in outs[rung].split('\n') if l[:7] == 'sample ']),
                                 20)
        first = float(outs[RUNGS[0]].split('\n')[2].rsplit(' ', 1)[1])  # no counts yet: uniform
        self.assertEqual(first, round(math.log(len(set(''.join(harness.SMALL_NAMES))) + 1), 4))
        self.assertEqual(outs[RUNGS[1]], outs[RUNGS[2]])  # autograd: the same numbers
        self.assertEqual(self.run_bare(RUNGS[6], n_head=1), outs[RUNGS[5]])  # one head of many
        self.assertEqual(outs[RUNGS[-1]], plain)  # the guards change no number

class HeldOut(unittest.TestCase):
    def test_the_held_out_names_are_never_trained_on(self):
        tool = runpy.run_path(os.path.join(LADDER, 'held_out.py'))
        data = harness.SMALL_NAMES + ['emma', 'ava', 'noah']  # names twice, as input.txt has
        held = []
        for rung, seed in [(RUNGS[0], None), (RUNGS[0], 7), (RUNGS[3], None)]:
            with folder_with(data) as d, quiet():
                ns, names, loss, count = tool['run'](rung, steps=100, seed=seed, names=10,
                                                     folder=d)
            with self.subTest(rung=NAME[rung], seed=seed):
                self.assertEqual(len(names), 10)
                self.assertEqual(set(ns['docs']), set(data) - names)  # every copy set aside
                self.assertEqual(ns['docs'].read, set(ns['docs']))  # what Training read: all
                self.assertTrue(0 < loss < 2 * math.log(ns['vocab_size']))
                self.assertGreater(count, 10)
                # the Training cell reads names only as docs[...]
                self.assertEqual(re.findall(r'\bdocs\b\S*', cells(rung)['Training']),
                                 ['docs[step', 'docs)]'])
            held.append(names)
        self.assertEqual(held[0], held[1])  # the same names whatever the seed
        self.assertEqual(held[0], held[2])  # and the rung

if __name__ == '__main__':
    unittest.main()
