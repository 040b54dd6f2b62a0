"""The model: its pieces by hand; its names and layout the reference's; the loss's gradient against
finite differences; three training steps against PyTorch's own Adam; sampling."""
import math, random, unittest

import harness

try:
    import torch
except ImportError:
    torch = None


class Pieces(unittest.TestCase):
    ns = harness.load('Model')

    def V(self, xs):
        return [self.ns['Value'](x) for x in xs]

    def test_softmax_rmsnorm_and_linear_by_hand(self):
        xs = [0.3, -1.2, 2.5, 0.0, 7.1]
        softmax, rmsnorm = self.ns['softmax'], self.ns['rmsnorm']
        p = [v.data for v in softmax(self.V(xs))]
        shifted = [v.data for v in softmax(self.V([x + 100.0 for x in xs]))]  # the same
        for a, b, c in zip(p, shifted, [math.exp(x) / sum(math.exp(y) for y in xs) for x in xs]):
            self.assertAlmostEqual(a, c, delta=1e-15)
            self.assertAlmostEqual(b, c, delta=1e-15)
        self.assertAlmostEqual(softmax(self.V([1000.0, 0.0]))[0].data, 1.0)  # no overflow
        ys = [v.data for v in rmsnorm(self.V(xs))]
        ms = sum(x * x for x in xs) / len(xs)
        for x, y in zip(xs, ys):
            self.assertAlmostEqual(y, x / math.sqrt(ms + 1e-5), delta=1e-14)
        w = [self.V([1.0, 0.0, -1.0]), self.V([0.5, 0.25, 2.0])]
        self.assertEqual([v.data for v in self.ns['linear'](self.V([1, 2, 3]), w)], [-2.0, 7.0])

    def test_gpt_names_its_intermediates_and_lays_out_its_parameters_as_the_reference(self):
        code = self.ns['gpt'].__code__  # a reader following the reference's walkthrough finds these
        for name in ('tok_emb', 'pos_emb', 'x_residual', 'q', 'k', 'v', 'attn_logits',
                     'attn_weights', 'head_out', 'x_attn', 'logits'):
            self.assertIn(name, code.co_varnames + code.co_cellvars)  # cell: a comprehension's
        sd = self.ns['state_dict']
        self.assertEqual(list(sd), ['wte', 'wpe', 'lm_head'] + [f'layer0.{m}' for m in (
            'attn_wq', 'attn_wk', 'attn_wv', 'attn_wo', 'mlp_fc1', 'mlp_fc2')])
        self.assertEqual(len(self.ns['params']), (24 + 8 + 24) * 16 + 4 * 16 * 16 + 2 * 64 * 16)
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
    def test_three_training_steps_are_pytorchs_adam_on_the_same_model(self):
        # The PyTorch twin's model, from the same seed, trained by torch.optim.Adam with the
        # cosine rate: microgpt.py's Training cell must reach the same weights.
        ours = harness.load('Training', num_steps=3)['state_dict']
        start = harness.load('Model', num_steps=3)['state_dict']
        twin = harness.load('Model', script=harness.TORCH_SCRIPT, num_steps=3)
        lr = twin['learning_rate']
        opt = torch.optim.Adam(twin['params'], lr=lr, betas=(twin['beta1'], twin['beta2']),
                               eps=twin['eps_adam'])
        for step in range(3):
            opt.zero_grad()
            tokens = [twin['BOS']] + [twin['uchars'].index(c) for c in twin['docs'][step]]
            tokens = (tokens + [twin['BOS']])[:twin['block_size'] + 1]
            n = len(tokens) - 1
            probs = torch.softmax(twin['gpt'](tokens[:n]), dim=-1)
            ((1 / n) * -probs[torch.arange(n), tokens[1:]].log().sum()).backward()
            for group in opt.param_groups:
                group['lr'] = lr * 0.5 * (1 + math.cos(math.pi * step / 3))
            opt.step()
        moved = 0
        for name, mat in ours.items():
            theirs = twin['state_dict'][name].detach()
            self.assertLessEqual((matrix(mat) - theirs).abs().max().item(), 1e-12, name)
            moved = max(moved, (matrix(mat) - matrix(start[name])).abs().max().item())
        self.assertGreater(moved, 1e-3)  # three steps moved the weights: not a vacuous match



class Sampling(unittest.TestCase):
    def test_temperature_near_zero_approaches_the_argmax(self):
        ns = harness.load('Inference', num_steps=30, temperature=1e-4, n_embd=8, n_head=2)
        self.assertEqual(harness.samples(ns['_stdout']), [harness.greedy(ns)] * 20)

    def test_samples_are_short_enough_and_use_only_dataset_characters(self):
        ns = harness.load('Inference', num_steps=10, temperature=3.0, n_embd=4, n_head=2)  # wild
        names = harness.samples(ns['_stdout'])
        self.assertEqual(len(names), 20)
        for name in names:
            self.assertTrue(len(name) <= ns['block_size'] and set(name) <= set(ns['uchars']), name)
        self.assertTrue(any(len(name) == ns['block_size'] for name in names))


if __name__ == '__main__':
    unittest.main()
