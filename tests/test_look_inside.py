"""tests/look_inside/look_inside.py's pictures show the model's own numbers: each is worked out here
again from the trained state_dict, by other code, and compared with the numbers the SVG carries
(data-value): attention rows, each principal component's eigen-equation, the next character's odds,
the gradient log, and every vector of one forward pass. A narrow model, a few steps: what is drawn
is the same."""
import math, os, re, shutil, subprocess, sys, tempfile, unittest

import harness
sys.path.insert(0, os.path.join(harness.ROOT, 'tests', 'look_inside'))
import look_inside

SCRIPT = os.path.join(harness.ROOT, 'tests', 'look_inside', 'look_inside.py')

def values(svg, **attributes):
    """The data-value of every element with these data- attributes, in order."""
    found = []
    for tag in re.findall(r'<[^>]*data-value="[^"]*"[^>]*>', svg):
        attrs = dict(re.findall(r'data-([a-z]+)="([^"]*)"', tag))
        if all(attrs.get(k) == str(v) for k, v in attributes.items()):
            found.append(attrs['value'])
    return found

def flat(vector):  # a vector, or a head's rows
    return [x for row in vector for x in row] if vector and isinstance(vector[0], list) else vector

class Pictures(unittest.TestCase):
    # The real cells, with the gradient-log experiment applied, as look_inside.train() applies it.
    ns = harness.load('Training', experiment='gradient_log', num_steps=6, grad_log_every=1, n_embd=8, n_head=2,
                      n_layer=2)
    logs = harness.gradient_logs(ns['_stdout'])

    def assertAllClose(self, got, want, delta=1e-12):
        self.assertEqual(len(got), len(want))
        for a, b in zip(got, want):
            self.assertAlmostEqual(a, b, delta=delta)

    def test_attention_rows_are_the_models_own(self):
        maps, labels = look_inside.attention(self.ns, 'emma')
        self.assertEqual(labels, ['BOS', 'e', 'm', 'm', 'a'])
        svg = look_inside.draw_attention(maps, labels, 'emma', self.ns['n_layer'], self.ns['n_head'])
        tokens = look_inside.tokens_of(self.ns, 'emma')
        for t in range(len(tokens)):  # the last position's weights, for each layer and head, by hand
            for i, row in enumerate(hand_forward(self.ns, tokens[:t + 1])['attn_weights']):
                self.assertAlmostEqual(sum(row), 1.0, delta=1e-12)
                li, h = divmod(i, self.ns['n_head'])
                self.assertAllClose([float(v) for v in values(svg, layer=li, head=h, row=t)], row)

    def test_each_principal_component_satisfies_its_eigen_equation(self):
        for name in ('wte', 'wpe'):
            rows = [[p.data for p in row] for row in self.ns['state_dict'][name]]
            components, points = look_inside.principal_components(rows)
            n, d = len(rows), len(rows[0])
            mean = [sum(r[j] for r in rows) / n for j in range(d)]
            cov = [[sum((r[i] - mean[i]) * (r[j] - mean[j]) for r in rows) / n for j in range(d)] for i in range(d)]
            for lam, v in components:
                self.assertAlmostEqual(sum(x * x for x in v), 1.0, delta=1e-12)
                self.assertAllClose([sum(cov[i][j] * v[j] for j in range(d)) for i in range(d)], [lam * x for x in v], 1e-9)
            self.assertGreaterEqual(components[0][0], components[1][0])
            self.assertAlmostEqual(sum(a * b for a, b in zip(components[0][1], components[1][1])), 0, delta=1e-9)
            centred = [[r[j] - mean[j] for j in range(d)] for r in rows]  # each point: its row's projection
            self.assertAllClose([x for x, _ in points], [sum(a * b for a, b in zip(c, components[0][1])) for c in centred])
            svg = look_inside.draw_embeddings(points, [str(i) for i in range(n)], points)
            self.assertEqual([tuple(map(float, v.split())) for v in values(svg, kind='wte')], [tuple(p) for p in points])

    def test_the_bars_are_the_softmax_of_gpts_logits(self):
        ns = self.ns
        for beginning, temperature in (('', 1.0), ('e', 1.0), ('em', 0.5)):
            logits = hand_forward(ns, look_inside.tokens_of(ns, beginning))['logits'][0]
            exps = [math.exp((l - max(logits)) / temperature) for l in logits]
            self.assertAllClose(look_inside.next_char(ns, beginning, temperature), [e / sum(exps) for e in exps])
        p1, pt = look_inside.next_char(ns, 'e', 1.0), look_inside.next_char(ns, 'e', 0.5)
        svg = look_inside.draw_next_char([('e', p1, pt)], [look_inside.label(ns, t) for t in range(ns['vocab_size'])], 0.5)
        self.assertEqual(([float(v) for v in values(svg, row=0, kind='t1')], [float(v) for v in values(svg, row=0, kind='tT')]),
                         (p1, pt))

    def test_the_learning_picture_draws_the_gradient_logs_numbers_and_step_1s_zeros(self):
        svg = look_inside.draw_learning(self.logs)
        self.assertEqual(sorted(self.logs), [1, 2, 3, 4, 5, 6])
        for matrix in self.logs[1]:
            for column in (1, 2):
                self.assertEqual(values(svg, matrix=matrix, column=column)[0].split(),
                                 [f'{s}:{self.logs[s][matrix][column]!r}' for s in range(1, 7)])
        self.assertEqual(self.logs[1]['layer0.attn_wq'][1], 0.0)  # drawn as a mark at the bottom
        self.assertIn('×', svg)

    def test_the_forward_pass_is_gpts_own_and_the_picture_draws_it(self):
        ns, position = self.ns, 3
        ns['_source'] = harness.source().splitlines()  # as look_inside.train() keeps it
        steps, labels = look_inside.forward_pass(ns, 'emma', position)
        self.assertEqual(labels, ['BOS', 'e', 'm', 'm'])
        got = {}
        for line, var, head, value in steps:
            got.setdefault(var, []).append(value)
        for var, vectors in hand_forward(ns, look_inside.tokens_of(ns, 'emma')[:position + 1]).items():
            with self.subTest(var=var):
                self.assertEqual(len(got[var]), len(vectors))
                for a, b in zip(got[var], vectors):
                    self.assertAllClose(flat(a), flat(b))
        self.assertEqual([var for _, var, _, _ in steps][:3], ['tok_emb', 'pos_emb', 'x'])
        self.assertIn('x = [xi.relu() ** 2 for xi in x]', [line for line, _, _, _ in steps])
        svg = look_inside.draw_forward(steps, labels, position)
        self.assertEqual([float(v) for v in values(svg)], [x for _, _, _, v in steps for x in flat(v)])

class TheScript(unittest.TestCase):
    def script(self, *args, script=SCRIPT):
        return subprocess.run([sys.executable, script, *args], capture_output=True, text=True, timeout=300)

    def test_help_and_each_mistake_is_one_line_before_training(self):
        p = self.script('--help')
        for words in ('--name', 'attention.svg', 'embeddings.svg', 'next_char.svg', 'learning.svg'):
            self.assertIn(words, p.stdout)
        with tempfile.NamedTemporaryFile() as f, tempfile.TemporaryDirectory() as out:
            for args, expect in [(['--name', 'Zoë!'], "look_inside: 'Zoë!' has characters that input.txt lacks: '!Zë'"),
                                 (['--out', f.name], f'look_inside: --out {f.name} is a file, not a folder'),
                                 (['--name', 'emma', '--position', '5', '--out', out],
                                  "look_inside: --position must be from 0 to 4 for 'emma'")]:
                with self.subTest(args=args):
                    p = self.script(*args)
                    self.assertEqual((p.returncode, p.stderr), (1, expect + '\n'))  # and no 'training' line

    def test_it_trains_microgpt_py_as_it_is_and_draws_every_picture_into_out(self):
        with tempfile.TemporaryDirectory() as d:  # the real script, in a copy of the files it reads
            for f in ('harness.py', os.path.join('look_inside', 'look_inside.py'), os.path.join('experiments', 'gradient_log.diff')):
                os.makedirs(os.path.dirname(os.path.join(d, 'tests', f)), exist_ok=True)
                shutil.copy(os.path.join(harness.ROOT, 'tests', f), os.path.join(d, 'tests', f))
            harness.prepare(d, data=harness.SMALL_NAMES, num_steps=3, n_embd=8, n_head=2)
            p = self.script('--name', 'ava', script=os.path.join(d, 'tests', 'look_inside', 'look_inside.py'))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn('look_inside: training, step    3 /    3', p.stderr)
            self.assertEqual(sorted(os.listdir(os.path.join(d, 'tests', 'look_inside'))), ['look_inside.py', 'out'])
            out = os.path.join(d, 'tests', 'look_inside', 'out')
            self.assertIn(f'wrote {os.path.join(out, "attention.svg")}', p.stderr)
            svg = {f: harness.read(os.path.join(out, f)) for f in os.listdir(out)}
            self.assertEqual(len(values(svg['attention.svg'], layer=0, head=0)), 1 + 2 + 3 + 4)  # BOS a v a: a row each
            self.assertEqual(values(svg['learning.svg'], matrix='wte', column=1)[0].count(':'), 3)  # steps 1 to 3
            for f in ('embeddings.svg', 'next_char.svg', 'forward.svg'):
                self.assertIn('data-value=', svg[f], f)

def hand_forward(ns, tokens):
    """What gpt() works out at the last of these positions, from the state_dict's numbers in plain
    floats (not by calling gpt): {variable: [each value it takes, in order]}."""
    n_layer, n_head = ns['n_layer'], ns['n_head']
    hd = ns['n_embd'] // n_head
    W = lambda name: [[p.data for p in row] for row in ns['state_dict'][name]]
    lin = lambda x, w: [sum(a * b for a, b in zip(row, x)) for row in w]
    norm = lambda x: [v / math.sqrt(sum(u * u for u in x) / len(x) + 1e-5) for v in x]
    keys, vals = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
    for pos, tok in enumerate(tokens):
        out = {'tok_emb': [W('wte')[tok]], 'pos_emb': [W('wpe')[pos]], 'x': [], 'q': [], 'attn_weights': [], 'head_out': []}
        x = [a + b for a, b in zip(W('wte')[tok], W('wpe')[pos])]
        out['x'] += [x, norm(x)]
        x = norm(x)
        for li in range(n_layer):
            res, xn = x, norm(x)
            q, k, v = (lin(xn, W(f'layer{li}.attn_w{c}')) for c in 'qkv')
            out['x'].append(xn)
            out['q'].append(q)
            keys[li].append(k)
            vals[li].append(v)
            att = []
            for h in range(n_head):
                s = slice(h * hd, (h + 1) * hd)
                logits = [sum(a * b for a, b in zip(q[s], kk[s])) / hd ** 0.5 for kk in keys[li]]
                e = [math.exp(l - max(logits)) for l in logits]
                w = [a / sum(e) for a in e]
                head = [sum(w[t] * vals[li][t][s][j] for t in range(len(w))) for j in range(hd)]
                out['attn_weights'].append(w)
                out['head_out'].append(head)
                att += head
            x = lin(att, W(f'layer{li}.attn_wo'))
            out['x'].append(x)
            x = [a + b for a, b in zip(x, res)]
            res, xn2 = x, norm(x)
            hidden = [max(0.0, a) ** 2 for a in lin(xn2, W(f'layer{li}.mlp_fc1'))]
            out['x'] += [x, xn2, lin(xn2, W(f'layer{li}.mlp_fc1')), hidden]
            x = lin(hidden, W(f'layer{li}.mlp_fc2'))
            out['x'].append(x)
            x = [a + b for a, b in zip(x, res)]
            out['x'].append(x)
        logits = lin(x, W('lm_head'))
        e = [math.exp(l - max(logits)) for l in logits]
        out['logits'], out['probs'] = [logits], [[a / sum(e) for a in e]]
    return out

if __name__ == '__main__':
    unittest.main()
