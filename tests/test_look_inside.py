"""look_inside.py's pictures: each SVG's numbers (data-value) against the NumPy twin's gpt() and
the gradient log, its labels against what they name; then the script, every picture drawn."""
import contextlib, itertools, os, re, shutil, subprocess, sys, tempfile, unittest
import harness
sys.path.insert(0, os.path.join(harness.ROOT, 'tests', 'look_inside'))
import look_inside
np = None
with contextlib.suppress(ImportError):
    import numpy as np

SCRIPT = os.path.join('tests', 'look_inside', 'look_inside.py')  # in a repository's folder
SHAPE = {'n_embd': 8, 'n_head': 2, 'n_layer': 2}  # narrow, a few steps: what is drawn is the same
needs_numpy = unittest.skipIf(np is None, 'NumPy is not installed (CI installs it)')

def values(svg, **attributes):  # the data-value of each element with these data- attributes
    tags = [dict(re.findall(r'data-([a-z]+)="([^"]*)"', tag))
            for tag in re.findall(r'<[^>]*data-value="[^>]*>', svg)]
    return [a['value'] for a in tags if all(a.get(k) == str(v) for k, v in attributes.items())]

def texts(svg, kind, step=None):  # the words of each <text class=kind> (of that step), in order
    step = '' if step is None else f' data-step="{step}"'
    return re.findall(rf'<text [^>]*class="{kind}"{step}[^>]*>([^<]*)<', svg)

def setUpModule():  # learning.svg draws gradient_log.diff's numbers, applied with git apply
    if shutil.which('git') is None:
        raise unittest.SkipTest('git is not installed: the gradient log is a diff')


class Pictures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):  # the real cells, with the gradient log, as look_inside.train() runs them
        cls.ns = ns = harness.load('Training', experiment='gradient_log', num_steps=6,
                                   grad_log_every=1, **SHAPE)
        ns['_source'] = harness.source().splitlines()  # as look_inside.train() keeps it
        cls.logs, cls.vocab = harness.gradient_logs(ns['_stdout']), ns['uchars'] + ['BOS']
        cls.steps, cls.labels = look_inside.forward_pass(ns, 'emma', 3)
        if np:  # the NumPy twin's gpt() on these weights, for BOS emma: a row of each a position
            cls.twin = harness.load('Model', script=harness.NUMPY_SCRIPT, **SHAPE)
            for matrix, rows in ns['state_dict'].items():
                cls.twin['state_dict'][matrix][...] = [[p.data for p in row] for row in rows]
            cls.logits, cls.cache = cls.twin['gpt'](look_inside.tokens_of(ns, 'emma'))

    @needs_numpy
    def test_the_attention_rows_and_the_next_characters_bars_are_the_twins(self):
        maps, labels = look_inside.attention(self.ns, 'emma')
        svg, cache = look_inside.draw_attention(maps, labels, 'emma', 2, 2), self.cache
        self.assertEqual(labels, ['BOS', 'e', 'm', 'm', 'a'])
        for li, h, t in itertools.product(range(2), range(2), range(5)):
            np.testing.assert_allclose([float(v) for v in values(svg, layer=li, head=h, row=t)],
                                       cache[1 + li][3][3][h, t, :t + 1], rtol=0, atol=1e-12)
        np.testing.assert_allclose([float(s) for s in texts(svg, 'weight')],  # each cell's words
                                   [float(v) for v in values(svg)], rtol=0, atol=0.005)
        svg = look_inside.draw_next_char([(b, *(look_inside.next_char(self.ns, b, t) for t in (
            1, 0.5))) for b in ('', 'e', 'em')], self.vocab, 0.5)  # as main() draws it
        for i, (kind, t) in itertools.product(range(3), (('t1', 1), ('tT', 0.5))):  # temperature
            np.testing.assert_allclose([float(v) for v in values(svg, row=i, kind=kind)],
                                       self.twin['softmax'](self.logits[i] / t), 0, 1e-12)

    def test_the_learning_picture_draws_the_gradient_logs_numbers_and_step_1s_zeros(self):
        svg, logs = look_inside.draw_learning(self.logs), self.logs
        for matrix, column in itertools.product(logs[1], (1, 2)):  # steps 1 to 6, and no other
            self.assertEqual(values(svg, matrix=matrix, column=column)[0].split(),
                             [f'{s}:{logs[s][matrix][column]!r}' for s in range(1, 7)])
        zeros = [m for s in logs for m in logs[s] for c in (1, 2) if logs[s][m][c] == 0]
        self.assertEqual((svg.count('>×<'), logs[1]['layer0.attn_wq'][1]), (len(zeros), 0.0))

    @needs_numpy
    def test_every_vector_of_the_forward_pass_is_the_twins_in_gpts_order_and_drawn_named(self):
        sd, logits, cache, t = self.twin['state_dict'], self.logits, self.cache, 3
        want = [('tok_emb', sd['wte'][self.vocab.index('m')]), ('pos_emb', sd['wpe'][t]),
                ('x', cache[0][0][t]), ('x', cache[1][0][t])]  # the embeddings' sum, its norm
        outs = [layer[0][t] for layer in cache[2:-1]] + [cache[-1][t]]  # each block's output
        for (x_in, _, xn, (q, k, v, p), x_attn, x_mid, _, xn2, h, hidden), out in zip(
                cache[1:-1], outs):
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
        self.assertEqual([var for _, var, _, _ in self.steps], [var for var, _ in want])
        for (_, var, _, got), (_, vector) in zip(self.steps, want):
            got = np.array(got) - (got[0] - vector[0] if var == 'attn_logits' else 0)
            np.testing.assert_allclose(got, vector, rtol=0, atol=1e-12, err_msg=var)
        self.assertIn('x = [xi.relu() ** 2 for xi in x]', [line for line, *_ in self.steps])
        svg = look_inside.draw_forward(self.steps, self.labels, 3, self.vocab)
        self.assertEqual(list(map(float, values(svg))),  # every number, in order
                         [x for *_, v in self.steps for x in np.ravel(v)])
        rows = ['pos 0 BOS', 'pos 1 e', 'pos 2 m', 'pos 3 m']  # a key's or a value's rows
        columns = {'attn_logits': ['BOS', 'e', 'm', 'm'], 'logits': self.vocab}
        for i, (_, var, _, value) in enumerate(self.steps):
            self.assertEqual([texts(svg, kind, i) for kind in ('scale', 'position', 'column')],
                             [[f'{max(abs(np.ravel(value))):.3g}'],
                              rows if var in ('k_h', 'v_h') else [], columns.get(var, [])], var)

class TheScript(unittest.TestCase):
    def script(self, *args, root=harness.ROOT):
        return subprocess.run([sys.executable, os.path.join(root, SCRIPT), *args],
                              capture_output=True, text=True, timeout=300)

    def test_help_and_each_mistake_is_one_line_before_training(self):
        self.assertRegex(self.script('--help').stdout, r'--name NAME[\s\S]*forward\.svg  ')
        with tempfile.NamedTemporaryFile() as f, tempfile.TemporaryDirectory() as out:
            for args, expect in [
                    (['--name', 'Zoë!'], "'Zoë!' has characters that input.txt lacks: '!Zë'"),
                    (['--out', f.name], f'--out {f.name} is a file, not a folder'),
                    (['--name', 'emma', '--position', '5'],
                     "--position must be from 0 to 4 for 'emma'")]:
                p = self.script('--out', out, *args)  # no 'training' line, no out/ left behind
                self.assertEqual((p.returncode, p.stderr), (1, f'look_inside: {expect}\n'))

    def test_it_trains_microgpt_py_as_it_is_and_draws_every_picture_into_out(self):
        with tempfile.TemporaryDirectory() as d:  # the real script, in a copy of the files it reads
            shutil.copytree(os.path.join(harness.ROOT, 'tests'), os.path.join(d, 'tests'),
                            ignore=shutil.ignore_patterns('out', '*.svg', '*.md', '__pycache__'))
            harness.prepare(d, data=harness.SMALL_NAMES, num_steps=3, n_embd=8, n_head=2)
            out = os.path.join(d, 'tests', 'look_inside', 'out')
            p = self.script('--name', 'ava', root=d)
            self.assertEqual((p.returncode, p.stderr.count('training, step    3 /    3')), (0, 1))
            self.assertEqual(sorted(os.listdir(os.path.dirname(out))), ['look_inside.py', 'out'])
            svg = {f[:-4]: harness.read(os.path.join(out, f)) for f in os.listdir(out)}
            vocab = sorted(set(''.join(harness.SMALL_NAMES))) + ['BOS']
            self.assertEqual(len(values(svg['attention'], layer=0, head=0)), 1 + 2 + 3 + 4)
            self.assertEqual(values(svg['learning'], matrix='wte', column=1)[0].count(':'), 3)
            self.assertEqual(re.findall(r'data-label="([^"]*)"', svg['embeddings']),
                             vocab + [str(i) for i in range(8)])  # each token, each position
            self.assertEqual(re.findall(r'>after ([^<]*)<', svg['next_char']),
                             ['BOS', "BOS + 'a'", "BOS + 'av'"])  # the name's first letters
            self.assertEqual(texts(svg['forward'], 'column')[-len(vocab):], vocab)  # the logits'
            self.assertIn("position 3, the token 'a' after BOS a v", svg['forward'])

if __name__ == '__main__':
    unittest.main()
