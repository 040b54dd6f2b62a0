"""tests/look_inside.py's pictures show the model's own numbers: each is computed here again, from
the trained state_dict, by other code, and compared with the numbers the SVG carries (data-value):
attention rows sum to 1 and equal a hand computation of the same attention; each principal component
satisfies its eigen-equation; the bars are the softmax of gpt's logits; the gradient picture's
numbers are the gradient log's. Trained for a few steps of a narrow model: what is drawn is the same."""
import math, os, re, subprocess, sys, tempfile, unittest

import harness
sys.path.insert(0, os.path.join(harness.ROOT, 'tests', 'look_inside'))
import look_inside


def values(svg, **attributes):
    """The data-value of every element with these data- attributes, in order."""
    found = []
    for tag in re.findall(r'<[^>]*data-value="[^"]*"[^>]*>', svg):
        attrs = dict(re.findall(r'data-([a-z]+)="([^"]*)"', tag))
        if all(attrs.get(k) == str(v) for k, v in attributes.items()):
            found.append(attrs['value'])
    return found


class Pictures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The real cells, a narrow two-layer model on the small dataset: the gradient-log experiment
        # applied, as look_inside.train() applies it.
        cls.ns = harness.load('Training', experiment='gradient_log', num_steps=6, grad_log_every=1,
                              n_embd=8, n_head=2, n_layer=2)
        cls.logs = harness.gradient_logs(cls.ns['_stdout'])

    def test_attention_rows_are_the_models_own(self):
        ns, name = self.ns, 'emma'
        maps, labels = look_inside.attention(ns, name)
        self.assertEqual(labels, ['BOS', 'e', 'm', 'm', 'a'])
        svg = look_inside.draw_attention(maps, labels, name, ns['n_layer'], ns['n_head'])
        expected = hand_attention(ns, look_inside.tokens_of(ns, name))
        for (li, h), rows in expected.items():
            for t, row in enumerate(rows):
                self.assertAlmostEqual(sum(row), 1.0, delta=1e-12)
                drawn = [float(v) for v in values(svg, layer=li, head=h, row=t)]
                self.assertEqual(len(drawn), t + 1)
                for a, b in zip(drawn, row):
                    self.assertAlmostEqual(a, b, delta=1e-12)

    def test_each_principal_component_satisfies_its_eigen_equation(self):
        for name in ('wte', 'wpe'):
            rows = [[p.data for p in row] for row in self.ns['state_dict'][name]]
            components, points = look_inside.principal_components(rows)
            n, d = len(rows), len(rows[0])
            mean = [sum(r[j] for r in rows) / n for j in range(d)]
            cov = [[sum((r[i] - mean[i]) * (r[j] - mean[j]) for r in rows) / n for j in range(d)] for i in range(d)]
            for lam, v in components:
                self.assertAlmostEqual(sum(x * x for x in v), 1.0, delta=1e-12)
                for i in range(d):
                    self.assertAlmostEqual(sum(cov[i][j] * v[j] for j in range(d)), lam * v[i], delta=1e-9)
            self.assertGreaterEqual(components[0][0], components[1][0])
            self.assertAlmostEqual(sum(a * b for a, b in zip(components[0][1], components[1][1])), 0, delta=1e-9)
            labels = [str(i) for i in range(n)]
            svg = look_inside.draw_embeddings(points, labels, points)
            drawn = [tuple(map(float, v.split())) for v in values(svg, kind='wte')]
            for (a, b), (x, y) in zip(drawn, points):
                self.assertEqual((a, b), (x, y))
            centred = [[r[j] - mean[j] for j in range(d)] for r in rows]
            for c, (x, y) in zip(centred, points):  # each point is its row's projection
                self.assertAlmostEqual(x, sum(a * b for a, b in zip(c, components[0][1])), delta=1e-12)

    def test_the_bars_are_the_softmax_of_gpts_logits(self):
        ns = self.ns
        for beginning, temperature in (('', 1.0), ('e', 1.0), ('em', 0.5)):
            probs = look_inside.next_char(ns, beginning, temperature)
            keys, values_ = [[] for _ in range(ns['n_layer'])], [[] for _ in range(ns['n_layer'])]
            tokens = [ns['BOS']] + [ns['uchars'].index(ch) for ch in beginning]
            for pos_id, token_id in enumerate(tokens):
                logits = [l.data for l in ns['gpt'](token_id, pos_id, keys, values_)]
            exps = [math.exp((l - max(logits)) / temperature) for l in logits]
            for a, b in zip(probs, exps):
                self.assertAlmostEqual(a, b / sum(exps), delta=1e-12)
        labels = [look_inside.label(ns, t) for t in range(ns['vocab_size'])]
        p1, pt = look_inside.next_char(ns, 'e', 1.0), look_inside.next_char(ns, 'e', 0.5)
        svg = look_inside.draw_next_char([('e', p1, pt)], labels, 0.5)
        self.assertEqual([float(v) for v in values(svg, row=0, kind='t1')], p1)
        self.assertEqual([float(v) for v in values(svg, row=0, kind='tT')], pt)

    def test_the_learning_picture_draws_the_gradient_logs_numbers_and_step_1s_zeros(self):
        svg = look_inside.draw_learning(self.logs)
        self.assertEqual(sorted(self.logs), [1, 2, 3, 4, 5, 6])
        for matrix in self.logs[1]:
            for column in (1, 2):
                drawn = values(svg, matrix=matrix, column=column)[0].split()
                self.assertEqual(drawn, [f'{s}:{self.logs[s][matrix][column]!r}' for s in range(1, 7)])
        self.assertEqual(self.logs[1]['layer0.attn_wq'][1], 0.0)  # drawn as a mark at the bottom
        self.assertIn('×', svg)


    def test_the_forward_pass_is_gpts_own_and_the_picture_draws_it(self):
        ns, name, position = self.ns, 'emma', 3
        ns['_source'] = harness.source().splitlines()  # as look_inside.train() keeps it
        steps, labels = look_inside.forward_pass(ns, name, position)
        self.assertEqual(labels, ['BOS', 'e', 'm', 'm'])
        got = {}
        for line, var, head, value in steps:
            got.setdefault(var, []).append(value)
        want = hand_forward(ns, look_inside.tokens_of(ns, name)[:position + 1])
        for var, vectors in want.items():
            with self.subTest(var=var):
                self.assertEqual(len(got[var]), len(vectors))
                for a, b in zip(got[var], vectors):
                    flat_a = [x for r in a for x in r] if a and isinstance(a[0], list) else a
                    flat_b = [x for r in b for x in r] if b and isinstance(b[0], list) else b
                    self.assertEqual(len(flat_a), len(flat_b))
                    for x, y in zip(flat_a, flat_b):
                        self.assertAlmostEqual(x, y, delta=1e-12)
        self.assertEqual([var for _, var, _, _ in steps][:3], ['tok_emb', 'pos_emb', 'x'])
        self.assertIn('x = [xi.relu() ** 2 for xi in x]', [line for line, _, _, _ in steps])
        svg = look_inside.draw_forward(steps, labels, position)
        drawn = [float(v) for v in values(svg)]
        flat = [x for _, _, _, v in steps for x in (sum(v, []) if v and isinstance(v[0], list) else v)]
        self.assertEqual(drawn, flat)


class TheScript(unittest.TestCase):
    def script(self, *args, cwd=None):
        return subprocess.run([sys.executable, os.path.join(harness.ROOT, 'tests', 'look_inside', 'look_inside.py'), *args],
                              capture_output=True, text=True, timeout=300, cwd=cwd)

    def test_help_says_what_it_takes(self):
        p = self.script('--help')
        self.assertEqual(p.returncode, 0)
        for words in ('--name', 'attention.svg', 'embeddings.svg', 'next_char.svg', 'learning.svg'):
            self.assertIn(words, p.stdout)

    def test_a_name_with_a_character_the_data_lacks_is_one_line_before_training(self):
        p = self.script('--name', 'Zoë!')
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip(), "look_inside: 'Zoë!' has characters that input.txt lacks: '!Zë'")
        self.assertNotIn('training', p.stderr)

    def test_an_out_that_is_a_file_or_a_position_past_the_name_is_one_line_before_training(self):
        with tempfile.NamedTemporaryFile() as f:
            p = self.script('--out', f.name)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip(), f'look_inside: --out {f.name} is a file, not a folder')
        with tempfile.TemporaryDirectory() as out:
            p = self.script('--name', 'emma', '--position', '5', '--out', out)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip(), "look_inside: --position must be from 0 to 4 for 'emma'")

    def test_it_trains_microgpt_py_as_it_is_and_draws_every_picture(self):
        # The real script on a copy of the repository's two files, cut to a few steps.
        with tempfile.TemporaryDirectory() as d:
            for f in ('harness.py', os.path.join('look_inside', 'look_inside.py'), os.path.join('experiments', 'gradient_log.diff')):
                os.makedirs(os.path.dirname(os.path.join(d, 'tests', f)), exist_ok=True)
                with open(os.path.join(harness.ROOT, 'tests', f), encoding='utf-8') as src, \
                        open(os.path.join(d, 'tests', f), 'w', encoding='utf-8') as dst:
                    dst.write(src.read())
            harness.prepare(d, data=harness.SMALL_NAMES, num_steps=3, n_embd=8, n_head=2)
            p = subprocess.run([sys.executable, os.path.join(d, 'tests', 'look_inside', 'look_inside.py'), '--name', 'ava'],
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn('look_inside: training, step    3 /    3', p.stderr)
            self.assertEqual(sorted(os.listdir(os.path.join(d, 'tests', 'look_inside'))), ['look_inside.py', 'out'])  # nothing tracked
            out = os.path.join(d, 'tests', 'look_inside', 'out')
            self.assertIn(f'wrote {os.path.join(out, "attention.svg")}', p.stderr)
            with open(os.path.join(out, 'attention.svg'), encoding='utf-8') as f:
                attention = f.read()
            self.assertEqual(len(values(attention, layer=0, head=0)), 1 + 2 + 3 + 4)  # BOS a v a: one row each
            with open(os.path.join(out, 'learning.svg'), encoding='utf-8') as f:
                self.assertEqual(values(f.read(), matrix='wte', column=1)[0].count(':'), 3)  # steps 1 to 3
            for f in ('embeddings.svg', 'next_char.svg', 'forward.svg'):
                with open(os.path.join(out, f), encoding='utf-8') as svg:
                    self.assertIn('data-value=', svg.read(), f)


def hand_attention(ns, tokens):
    """Each layer's and head's attention weights for these tokens, a row per position: hand_forward's,
    position by position."""
    out = {(li, h): [] for li in range(ns['n_layer']) for h in range(ns['n_head'])}
    for p in range(len(tokens)):
        for i, weights in enumerate(hand_forward(ns, tokens[:p + 1])['attn_weights']):  # layer by layer, head by head
            out[divmod(i, ns['n_head'])].append(weights)
    return out


def hand_forward(ns, tokens):
    """What gpt() computes at the last of these positions, from the state_dict's numbers in plain
    floats (not by calling gpt): {variable: [each value it takes, in order]}, and the probabilities."""
    sd, n_layer, n_head, n_embd = ns['state_dict'], ns['n_layer'], ns['n_head'], ns['n_embd']
    hd = n_embd // n_head
    W = lambda name: [[p.data for p in row] for row in sd[name]]
    lin = lambda x, w: [sum(a * b for a, b in zip(row, x)) for row in w]
    norm = lambda x: [v / math.sqrt(sum(u * u for u in x) / len(x) + 1e-5) for v in x]
    keys, vals = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
    for pos, tok in enumerate(tokens):
        out = {'tok_emb': [W('wte')[tok]], 'pos_emb': [W('wpe')[pos]], 'x': [], 'q': [], 'attn_weights': [],
               'head_out': []}
        x = [a + b for a, b in zip(W('wte')[tok], W('wpe')[pos])]
        x = norm(x)
        out['x'] += [[a + b for a, b in zip(W('wte')[tok], W('wpe')[pos])], x]
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
