"""look_inside.py: each picture's numbers against the NumPy twin, NumPy's PCA or the gradient log;
its labels against what they name; a mistake is one line before training; only out/ written."""
import functools, importlib.util, itertools, os, re, shutil, tempfile, unittest
import harness, program
look_inside = program.tool('tests/look_inside/look_inside.py')
script = functools.partial(harness.tool, 'tests/look_inside/look_inside.py')  # as a learner runs it
np = importlib.import_module('numpy') if importlib.util.find_spec('numpy') else None

def values(svg, **attributes):  # the data-value of each element with these data- attributes
    tags = [dict(re.findall(r'data-([a-z]+)="([^"]*)"', tag))
            for tag in re.findall(r'<[^>]*data-value="[^>]*>', svg)]
    return [a['value'] for a in tags if all(a.get(k) == str(v) for k, v in attributes.items())]

def texts(svg, kind, step=None):  # the words of each <text class=kind> (of that step), in order
    step = '' if step is None else f' data-step="{step}"'
    return re.findall(rf'<text [^>]*class="{kind}"{step}[^>]*>([^<]*)<', svg)

@unittest.skipIf(np is None or not shutil.which('git'), 'needs NumPy (CI has it) and git')
class Pictures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):  # the real cells with the gradient log, as train() runs them; emma drawn
        shape, log = {'n_embd': 8, 'n_head': 2, 'n_layer': 2}, {'grad_log_every': 1}
        ns = harness.load('Training', experiment='gradient_log', num_steps=6, **log, **shape)
        ns['_source'] = harness.source(experiment='gradient_log', **log).splitlines()
        cls.logs, cls.vocab = harness.gradient_logs(ns['_stdout']), ns['uchars'] + ['BOS']
        cls.svg = {f[:-4]: svg for f, svg in look_inside.pictures(ns, cls.logs, 'emma').items()}
        cls.twin = harness.load('Model', script=harness.NUMPY_SCRIPT, **shape)  # these weights
        for matrix, rows in ns['state_dict'].items():
            cls.twin['state_dict'][matrix][...] = [[p.data for p in row] for row in rows]
        cls.logits, cls.cache = cls.twin['gpt'](look_inside.tokens_of(ns, 'emma'))

    def test_each_pictures_numbers_are_the_twins_numpys_or_the_gradient_logs_and_named(self):
        svg = self.svg['attention']
        for li, h, t in itertools.product(range(2), range(2), range(5)):
            np.testing.assert_allclose([float(v) for v in values(svg, layer=li, head=h, row=t)],
                                       self.cache[1 + li][3][3][h, t, :t + 1], 0, 1e-12)
        np.testing.assert_allclose([float(s) for s in texts(svg, 'weight')],  # each cell's words
                                   [float(v) for v in values(svg)], rtol=0, atol=0.005)
        self.assertEqual(texts(svg, 'position'), ['BOS', 'e', 'm', 'm', 'a'] * 4)  # each row's
        for i, (kind, t) in itertools.product(range(3), (('t1', 1), ('tT', 0.5))):  # after BOS e m
            np.testing.assert_allclose([float(v) for v in values(self.svg['next_char'], row=i,
                                        kind=kind)], self.twin['softmax'](self.logits[i] / t))
        svg = self.svg['embeddings']
        for kind, labels in ('wte', self.vocab), ('wpe', list('01234567')):
            x = self.twin['state_dict'][kind] - self.twin['state_dict'][kind].mean(0)
            want = x @ np.linalg.eigh(x.T @ x)[1][:, :-3:-1]  # the two largest: up to their signs
            got = np.array([v.split() for v in values(svg, kind=kind)], float)
            np.testing.assert_allclose(got, want * np.sign(np.sum(want * got, 0)), 0, 1e-9)
            self.assertEqual(re.findall(f'kind="{kind}" data-label="(.*?)"', svg), labels)
        svg, logs = self.svg['learning'], self.logs
        for matrix, column in itertools.product(logs[1], (1, 2)):  # steps 1 to 6, and no other
            self.assertEqual(values(svg, matrix=matrix, column=column)[0].split(),
                             [f'{s}:{logs[s][matrix][column]!r}' for s in range(1, 7)])
        zeros = [m for s in logs for m in logs[s] for c in (1, 2) if logs[s][m][c] == 0]
        self.assertEqual((svg.count('>×<'), logs[1]['layer0.attn_wq'][1]), (len(zeros), 0.0))

    def test_every_vector_of_the_forward_pass_is_the_twins_in_gpts_order_and_drawn_named(self):
        sd, logits, cache, t = self.twin['state_dict'], self.logits, self.cache, 4  # emma's a
        want = [('tok_emb', sd['wte'][self.vocab.index('a')]), ('pos_emb', sd['wpe'][t]),
                ('x', cache[0][0][t]), ('x', cache[1][0][t])]  # the embeddings' sum, its norm
        for (x_in, _, xn, (q, k, v, p), x_attn, x_mid, _, xn2, h, hidden), out in zip(
                cache[1:-1], [layer[0][t] for layer in cache[2:-1]] + [cache[-1][t]]):
            x_in, x_mid, heads = x_in[t], x_mid[t], np.split(x_attn[t], len(q))
            want += [('x_residual', x_in), ('x', xn[t])] + [
                (c, np.concatenate(m[:, t])) for c, m in zip('qkv', (q, k, v))]
            for i in range(len(q)):  # the twin's softmax input less a constant: log(weights)
                want += [('q_h', q[i, t]), ('k_h', k[i, :t + 1]), ('v_h', v[i, :t + 1]),
                         ('attn_logits', np.log(p[i, t, :t + 1])),
                         ('attn_weights', p[i, t, :t + 1]), ('head_out', heads[i])]
            want += [('x', x_mid - x_in), ('x', x_mid), ('x_residual', x_mid), ('x', xn2[t]),
                     ('x', h[t]), ('x', hidden[t]), ('x', out - x_mid), ('x', out)]
        want += [('logits', logits[t]), ('probs', self.twin['softmax'](logits[t]))]
        svg, named = self.svg['forward'], ['BOS', 'e', 'm', 'm', 'a']
        self.assertEqual(len(values(svg)), sum(np.size(v) for _, v in want))  # and nothing else
        for i, (var, vector) in enumerate(want):
            got = np.array(values(svg, step=i, var=var), float)
            shift = got[0] - vector[0] if var == 'attn_logits' else 0
            np.testing.assert_allclose(got - shift, np.ravel(vector), 0, 1e-12, err_msg=var)
            self.assertEqual(texts(svg, 'scale', i), [f'{np.max(np.abs(got)):.3g}'])  # its size
        self.assertEqual((texts(svg, 'position'), texts(svg, 'column')), ([  # k_h's, v_h's rows
            f'pos {j} {c}' for j, c in enumerate(named)] * 8, named * 4 + self.vocab))
        lines = re.findall(r'>([^<]*)</text>\n<text [^>]*class="scale"', svg)  # each row's label
        self.assertEqual([line.split(' = ')[0] for line in lines], [var for var, _ in want])
        self.assertIn('x = [xi.relu() ** 2 for xi in x]', lines)  # each a line of gpt() itself

class TheScript(unittest.TestCase):
    def test_each_mistake_is_one_line_before_training(self):
        with tempfile.NamedTemporaryFile() as f, tempfile.TemporaryDirectory() as out:
            for args, says in [('--name Zoë!', "'Zoë!' has characters that input.txt lacks: "),
                               (f'--out {f.name}/out', f'--out {f.name}/out is not a folder it '),
                               ('--name emma --position 5', '--position must be from 0 to 4 ')]:
                p = script('--out', out, *args.split())  # a file is no folder, even for root
                self.assertEqual((p.returncode, p.stderr.count('\n'), p.stderr.startswith(
                    'look_inside: ' + says)), (1, 1, True), p.stderr)

    def test_it_trains_microgpt_py_as_it_is_and_draws_what_block_size_allows_into_out(self):
        with tempfile.TemporaryDirectory() as d:  # the real script, in a copy of the files it reads
            shutil.copytree(os.path.join(harness.ROOT, 'tests'), os.path.join(d, 'tests'),
                            ignore=shutil.ignore_patterns('out', '*.svg', '*.md', '__pycache__'))
            harness.prepare(d, data=harness.SMALL_NAMES, num_steps=3, block_size=2, n_embd=8)
            p, here = script('--name', 'ava', root=d), os.path.join(d, 'tests', 'look_inside')
            self.assertEqual((p.returncode, p.stderr.count('training, step    3 /    3')), (0, 1))
            self.assertEqual(sorted(os.listdir(here)), ['look_inside.py', 'out'])  # nothing else
            svg = lambda name: harness.read(os.path.join(here, 'out', name + '.svg'))
            self.assertEqual(len(values(svg('attention'), head=1)), 1 + 2)  # BOS, BOS a: no more
            self.assertEqual(values(svg('learning'), matrix='wte', column=1)[0].count(':'), 3)
            self.assertEqual(re.findall(r'>after ([^<]*)<', svg('next_char')), ['BOS', "BOS + 'a'"])
            self.assertIn("position 1, the token 'a' after BOS", svg('forward'))

if __name__ == '__main__':
    unittest.main()
