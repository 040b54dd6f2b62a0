"""The model's pieces and the whole network: softmax, rmsnorm and linear by hand; logits, loss and
every parameter's gradient against a PyTorch float64 twin of the same weights; the loss against
finite differences; three Adam steps against torch.optim.Adam; and sampling."""
import math, random, unittest

import harness

try:
    import torch
except ImportError:
    torch = None

DOCS = ['emma', 'alexander', 'mia', 'x']  # shorter and longer than block_size (8), and a single letter


def model(**settings):
    return harness.load('Model', **settings)


class Pieces(unittest.TestCase):
    ns = model()

    def V(self, xs):
        return [self.ns['Value'](x) for x in xs]

    def test_softmax_sums_to_one_and_ignores_a_constant_shift(self):
        xs = [0.3, -1.2, 2.5, 0.0, 7.1]
        p = [v.data for v in self.ns['softmax'](self.V(xs))]
        self.assertAlmostEqual(sum(p), 1.0, delta=1e-15)
        shifted = [v.data for v in self.ns['softmax'](self.V([x + 100.0 for x in xs]))]
        for a, b in zip(p, shifted):
            self.assertAlmostEqual(a, b, delta=1e-15)
        expected = [math.exp(x) / sum(math.exp(y) for y in xs) for x in xs]
        for a, b in zip(p, expected):
            self.assertAlmostEqual(a, b, delta=1e-15)
        # large logits do not overflow: the max is subtracted first
        self.assertAlmostEqual(self.ns['softmax'](self.V([1000.0, 0.0]))[0].data, 1.0)

    def test_rmsnorm_gives_unit_root_mean_square(self):
        xs = [0.3, -1.2, 2.5, 0.0, 7.1, -3.3]
        ys = [v.data for v in self.ns['rmsnorm'](self.V(xs))]
        rms = math.sqrt(sum(y * y for y in ys) / len(ys))
        self.assertAlmostEqual(rms, 1.0, delta=1e-5)  # 1e-5 is the epsilon inside the square root
        ms = sum(x * x for x in xs) / len(xs)
        for x, y in zip(xs, ys):
            self.assertAlmostEqual(y, x / math.sqrt(ms + 1e-5), delta=1e-14)

    def test_linear_matches_a_hand_computation(self):
        x = self.V([1.0, 2.0, 3.0])
        w = [self.V([1.0, 0.0, -1.0]), self.V([0.5, 0.25, 2.0])]
        self.assertEqual([v.data for v in self.ns['linear'](x, w)], [-2.0, 7.0])

    def test_gpt_names_its_intermediates_as_the_reference_does(self):
        # a reader following the reference's walkthrough finds these names in gpt()
        code = self.ns['gpt'].__code__
        names = set(code.co_varnames) | set(code.co_cellvars)  # cellvars: the ones a comprehension reads
        for name in ('tok_emb', 'pos_emb', 'x_residual', 'q', 'k', 'v', 'attn_logits', 'attn_weights',
                     'head_out', 'x_attn', 'logits'):
            self.assertIn(name, names)

    def test_parameter_count_and_layout(self):
        ns = self.ns
        self.assertEqual(list(ns['state_dict'])[:3], ['wte', 'wpe', 'lm_head'])
        self.assertEqual(list(ns['state_dict'])[3:], ['layer0.attn_wq', 'layer0.attn_wk', 'layer0.attn_wv',
                                                      'layer0.attn_wo', 'layer0.mlp_fc1', 'layer0.mlp_fc2'])
        self.assertEqual(len(ns["params"]), (24 + 8 + 24) * 16 + 4 * 16 * 16 + 2 * 64 * 16)  # 24 tokens
        self.assertTrue(all(p.data == 0 for row in ns['state_dict']['layer0.attn_wo'] for p in row))


class FiniteDifferences(unittest.TestCase):
    def test_loss_gradient_on_a_sample_of_parameters(self):
        ns = model()
        harness.randomize(ns)
        doc, rng = 'alexander', random.Random(3)
        checked = 0
        with harness.paused_gc():
            harness.doc_loss(ns, doc)[0].backward()
            for name, mat in ns['state_dict'].items():
                for _ in range(4):
                    p = rng.choice(rng.choice(mat))
                    fd = harness.finite_difference(ns, doc, p)
                    self.assertAlmostEqual(p.grad, fd, delta=1e-6 * max(1.0, abs(fd)), msg=name)
                    checked += 1
        self.assertEqual(checked, 36)


@unittest.skipIf(torch is None, 'PyTorch is not installed (CI installs it)')
class AgainstPyTorch(unittest.TestCase):
    """microgpt.py's network against tests/microgpt_torch.py's (float64, a whole sequence at once with a
    causal mask, where microgpt goes one token at a time with a KV cache), both with microgpt's weights."""

    def torch_model(self, ns, **settings):
        """The PyTorch file's cells through Model, with the same settings, holding ns's weights."""
        twin = harness.load('Model', script=harness.TORCH_SCRIPT, **settings)
        with torch.no_grad():
            for name, mat in ns['state_dict'].items():
                twin['state_dict'][name].copy_(matrix(mat))
        return twin

    def torch_loss(self, twin, tokens):
        """The PyTorch file's loss for one document, as its Training cell computes it."""
        n = len(tokens) - 1
        logits = twin['gpt'](tokens[:n])
        probs = torch.softmax(logits, dim=-1)
        return (1 / n) * -probs[torch.arange(n), tokens[1:]].log().sum(), logits

    def compare(self, **settings):
        ns = model(**settings)
        harness.randomize(ns)
        twin = self.torch_model(ns, **settings)
        w = twin['state_dict']
        for doc in DOCS:
            with self.subTest(doc=doc, **settings):
                for p in ns['params']:
                    p.grad = 0.0
                for t in w.values():
                    t.grad = None
                loss, logits, tokens = harness.doc_loss(ns, doc)
                loss.backward()
                tloss, tlogits = self.torch_loss(twin, tokens)
                tloss.backward()
                # 1e-10 relative to the largest entry of each tensor: float64 keeps ~1e-16, and the two
                # sum in different orders, so last bits differ, never more.
                self.assertClose(torch.tensor(logits, dtype=torch.float64), tlogits.detach(), 'logits')
                self.assertClose(torch.tensor([loss.data], dtype=torch.float64), tloss.detach().view(1), 'loss')
                for name, mat in ns['state_dict'].items():
                    ours = torch.tensor([[p.grad for p in row] for row in mat], dtype=torch.float64)
                    self.assertGreater(ours.abs().max().item(), 0, name)
                    self.assertClose(ours, w[name].grad, name)

    def assertClose(self, ours, theirs, what):
        scale = theirs.abs().max().item()
        err = (ours - theirs).abs().max().item()
        self.assertLessEqual(err, 1e-10 * scale, f'{what}: max error {err:.3g} at scale {scale:.3g}')

    def test_logits_loss_and_every_gradient_default_model(self):
        self.compare()

    def test_logits_loss_and_every_gradient_two_layers_two_heads(self):
        self.compare(n_layer=2, n_head=2, n_embd=8)

    def test_three_training_steps_match_the_pytorch_files(self):
        # Both files' real Training cells, 3 steps from the same seed: the same weights and documents.
        ours = harness.load('Training', num_steps=3)
        twin = harness.load('Training', script=harness.TORCH_SCRIPT, num_steps=3)
        start = model(num_steps=3)
        moved = 0.0
        for name, mat in ours['state_dict'].items():
            trained = matrix(mat)
            moved = max(moved, (trained - matrix(start['state_dict'][name])).abs().max().item())
            self.assertLessEqual((trained - twin['state_dict'][name].detach()).abs().max().item(), 1e-12, name)
        self.assertGreater(moved, 1e-3)  # three steps at lr ~1e-2 moved the weights: not a vacuous match

    def test_the_pytorch_files_adam_is_torch_optim_adam(self):
        # Its Adam, written out as microgpt.py's, against PyTorch's own, on the same gradients.
        trained = harness.load('Training', script=harness.TORCH_SCRIPT, num_steps=3)
        twin = harness.load('Model', script=harness.TORCH_SCRIPT, num_steps=3)
        lr, b1, b2, eps = twin['learning_rate'], twin['beta1'], twin['beta2'], twin['eps_adam']
        opt = torch.optim.Adam(twin['params'], lr=lr, betas=(b1, b2), eps=eps)
        for step in range(3):
            opt.zero_grad()
            doc = twin['docs'][step]
            tokens = [twin['BOS']] + [twin['uchars'].index(ch) for ch in doc] + [twin['BOS']]
            self.torch_loss(twin, tokens[:min(twin['block_size'], len(tokens) - 1) + 1])[0].backward()
            for group in opt.param_groups:
                group['lr'] = lr * 0.5 * (1 + math.cos(math.pi * step / 3))
            opt.step()
        for name, t in twin['state_dict'].items():
            err = (t.detach() - trained['state_dict'][name].detach()).abs().max().item()
            self.assertLessEqual(err, 1e-12, name)


def matrix(mat):
    return torch.tensor([[p.data for p in row] for row in mat], dtype=torch.float64)


class Sampling(unittest.TestCase):
    def test_temperature_near_zero_approaches_the_argmax(self):
        ns = harness.load('Inference', num_steps=30, temperature=1e-4, n_embd=8, n_head=2)
        greedy, token_id = [], ns['BOS']
        keys, values = [[] for _ in range(ns['n_layer'])], [[] for _ in range(ns['n_layer'])]
        for pos_id in range(ns['block_size']):
            logits = [l.data for l in ns['gpt'](token_id, pos_id, keys, values)]
            token_id = logits.index(max(logits))
            if token_id == ns['BOS']:
                break
            greedy.append(ns['uchars'][token_id])
        self.assertEqual(harness.samples(ns['_stdout']), [''.join(greedy)] * 20)

    def test_samples_are_short_enough_and_use_only_dataset_characters(self):
        # a high temperature, so that the model wanders as far as it can
        ns = harness.load('Inference', num_steps=10, temperature=3.0, n_embd=4, n_head=2)
        names = harness.samples(ns['_stdout'])
        self.assertEqual(len(names), 20)
        for name in names:
            self.assertLessEqual(len(name), ns['block_size'])
            self.assertLessEqual(set(name), set(ns['uchars']))
        self.assertTrue(any(len(name) == ns['block_size'] for name in names))


if __name__ == '__main__':
    unittest.main()
