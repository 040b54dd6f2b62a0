"""The model's pieces and the whole network: softmax, rmsnorm and linear by hand; logits, loss and
every parameter's gradient against the PyTorch twin holding the same weights (float64); the loss's
gradient against finite differences; three Adam steps against torch.optim.Adam; and sampling."""
import math, random, unittest

import harness

try:
    import torch
except ImportError:
    torch = None

DOCS = ['emma', 'alexander', 'mia', 'x']  # shorter and longer than block_size (8), and a single letter

class Pieces(unittest.TestCase):
    ns = harness.load('Model')

    def V(self, xs):
        return [self.ns['Value'](x) for x in xs]

    def test_softmax_rmsnorm_and_linear_by_hand(self):
        xs = [0.3, -1.2, 2.5, 0.0, 7.1]
        p = [v.data for v in self.ns['softmax'](self.V(xs))]
        shifted = [v.data for v in self.ns['softmax'](self.V([x + 100.0 for x in xs]))]  # a shift changes nothing
        for a, b, c in zip(p, shifted, [math.exp(x) / sum(math.exp(y) for y in xs) for x in xs]):
            self.assertAlmostEqual(a, c, delta=1e-15)
            self.assertAlmostEqual(b, c, delta=1e-15)
        self.assertAlmostEqual(self.ns['softmax'](self.V([1000.0, 0.0]))[0].data, 1.0)  # no overflow: max first
        ys = [v.data for v in self.ns['rmsnorm'](self.V(xs))]
        self.assertAlmostEqual(math.sqrt(sum(y * y for y in ys) / len(ys)), 1.0, delta=1e-5)  # 1e-5: its epsilon
        for x, y in zip(xs, ys):
            self.assertAlmostEqual(y, x / math.sqrt(sum(x * x for x in xs) / len(xs) + 1e-5), delta=1e-14)
        w = [self.V([1.0, 0.0, -1.0]), self.V([0.5, 0.25, 2.0])]
        self.assertEqual([v.data for v in self.ns['linear'](self.V([1.0, 2.0, 3.0]), w)], [-2.0, 7.0])

    def test_gpt_names_its_intermediates_as_the_reference_does_and_the_parameters_are_laid_out_as_its(self):
        code = self.ns['gpt'].__code__  # a reader following the reference's walkthrough finds these
        for name in ('tok_emb', 'pos_emb', 'x_residual', 'q', 'k', 'v', 'attn_logits', 'attn_weights',
                     'head_out', 'x_attn', 'logits'):
            self.assertIn(name, set(code.co_varnames) | set(code.co_cellvars))  # cellvars: read by a comprehension
        sd = self.ns['state_dict']
        self.assertEqual(list(sd), ['wte', 'wpe', 'lm_head', 'layer0.attn_wq', 'layer0.attn_wk', 'layer0.attn_wv',
                                    'layer0.attn_wo', 'layer0.mlp_fc1', 'layer0.mlp_fc2'])
        self.assertEqual(len(self.ns['params']), (24 + 8 + 24) * 16 + 4 * 16 * 16 + 2 * 64 * 16)  # 24 tokens
        self.assertTrue(all(p.data == 0 for row in sd['layer0.attn_wo'] for p in row))

class FiniteDifferences(unittest.TestCase):
    def test_loss_gradient_on_a_sample_of_parameters(self):
        ns, rng, checked = harness.load('Model'), random.Random(3), 0
        harness.randomize(ns)
        with harness.paused_gc():
            harness.doc_loss(ns, 'alexander')[0].backward()
            for name, mat in ns['state_dict'].items():
                for _ in range(4):
                    p = rng.choice(rng.choice(mat))
                    fd = harness.finite_difference(ns, 'alexander', p)
                    self.assertAlmostEqual(p.grad, fd, delta=1e-6 * max(1.0, abs(fd)), msg=name)
                    checked += 1
        self.assertEqual(checked, 36)

def matrix(mat):
    return torch.tensor([[p.data for p in row] for row in mat], dtype=torch.float64)

@unittest.skipIf(torch is None, 'PyTorch is not installed (CI installs it)')
class AgainstPyTorch(unittest.TestCase):
    """microgpt.py's network against tests/twins/microgpt_torch.py's (a whole sequence at once with a
    causal mask, where microgpt goes a token at a time with a KV cache), both with microgpt's weights."""

    def torch_loss(self, twin, tokens):
        """The PyTorch file's loss for one document, as its Training cell computes it."""
        n = len(tokens) - 1
        logits = twin['gpt'](tokens[:n])
        return (1 / n) * -torch.softmax(logits, dim=-1)[torch.arange(n), tokens[1:]].log().sum(), logits

    def assertClose(self, ours, theirs, what):
        # 1e-10 of the largest entry: float64 keeps ~1e-16, and the two sum in different orders
        scale, err = theirs.abs().max().item(), (ours - theirs).abs().max().item()
        self.assertLessEqual(err, 1e-10 * scale, f'{what}: max error {err:.3g} at scale {scale:.3g}')

    def test_logits_loss_and_every_gradient_for_two_shapes(self):
        for settings in ({}, dict(n_layer=2, n_head=2, n_embd=8)):
            ns = harness.load('Model', **settings)
            harness.randomize(ns)
            twin = harness.load('Model', script=harness.TORCH_SCRIPT, **settings)
            w = twin['state_dict']
            with torch.no_grad():
                for name, mat in ns['state_dict'].items():
                    w[name].copy_(matrix(mat))
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
                    self.assertClose(torch.tensor(logits, dtype=torch.float64), tlogits.detach(), 'logits')
                    self.assertClose(torch.tensor([loss.data], dtype=torch.float64), tloss.detach().view(1), 'loss')
                    for name, mat in ns['state_dict'].items():
                        ours = torch.tensor([[p.grad for p in row] for row in mat], dtype=torch.float64)
                        self.assertGreater(ours.abs().max().item(), 0, name)
                        self.assertClose(ours, w[name].grad, name)

    def test_three_training_steps_match_the_pytorch_files_whose_adam_is_torch_optim_adam(self):
        ours = harness.load('Training', num_steps=3)  # both files' real Training cells, from the same seed
        trained = harness.load('Training', script=harness.TORCH_SCRIPT, num_steps=3)
        start = harness.load('Model', num_steps=3)['state_dict']
        for name, mat in ours['state_dict'].items():
            self.assertLessEqual((matrix(mat) - trained['state_dict'][name].detach()).abs().max().item(), 1e-12, name)
        moved = max((matrix(mat) - matrix(start[name])).abs().max().item() for name, mat in ours['state_dict'].items())
        self.assertGreater(moved, 1e-3)  # three steps at lr ~1e-2 moved the weights: not a vacuous match
        twin = harness.load('Model', script=harness.TORCH_SCRIPT, num_steps=3)  # and PyTorch's own Adam:
        lr = twin['learning_rate']
        opt = torch.optim.Adam(twin['params'], lr=lr, betas=(twin['beta1'], twin['beta2']), eps=twin['eps_adam'])
        for step in range(3):
            opt.zero_grad()
            tokens = [twin['BOS']] + [twin['uchars'].index(ch) for ch in twin['docs'][step]] + [twin['BOS']]
            self.torch_loss(twin, tokens[:min(twin['block_size'], len(tokens) - 1) + 1])[0].backward()
            for group in opt.param_groups:
                group['lr'] = lr * 0.5 * (1 + math.cos(math.pi * step / 3))
            opt.step()
        for name, t in twin['state_dict'].items():
            self.assertLessEqual((t.detach() - trained['state_dict'][name].detach()).abs().max().item(), 1e-12, name)

class Sampling(unittest.TestCase):
    def test_temperature_near_zero_approaches_the_argmax(self):
        ns = harness.load('Inference', num_steps=30, temperature=1e-4, n_embd=8, n_head=2)
        self.assertEqual(harness.samples(ns['_stdout']), [harness.greedy(ns)] * 20)

    def test_samples_are_short_enough_and_use_only_dataset_characters(self):
        ns = harness.load('Inference', num_steps=10, temperature=3.0, n_embd=4, n_head=2)  # it wanders far
        names = harness.samples(ns['_stdout'])
        self.assertEqual(len(names), 20)
        for name in names:
            self.assertTrue(len(name) <= ns['block_size'] and set(name) <= set(ns['uchars']), name)
        self.assertTrue(any(len(name) == ns['block_size'] for name in names))

if __name__ == '__main__':
    unittest.main()
