"""The model: its names and layout the reference's; three training steps against PyTorch's own Adam;
sampling. (Its forward pass and every gradient: the NumPy twin's, in test_twins.py.)"""
import math, unittest

import harness

try:
    import torch
except ImportError:
    torch = None


class Names(unittest.TestCase):
    def test_gpt_names_its_intermediates_and_lays_out_its_parameters_as_the_reference(self):
        ns = harness.load('Model')
        code = ns['gpt'].__code__  # a reader following the reference's walkthrough finds these
        for name in ('tok_emb', 'pos_emb', 'x_residual', 'q', 'k', 'v', 'attn_logits',
                     'attn_weights', 'head_out', 'x_attn', 'logits'):
            self.assertIn(name, code.co_varnames + code.co_cellvars)  # cell: a comprehension's
        sd = ns['state_dict']
        self.assertEqual(list(sd), ['wte', 'wpe', 'lm_head'] + [f'layer0.{m}' for m in (
            'attn_wq', 'attn_wk', 'attn_wv', 'attn_wo', 'mlp_fc1', 'mlp_fc2')])
        self.assertEqual(len(ns['params']), (24 + 8 + 24) * 16 + 4 * 16 * 16 + 2 * 64 * 16)
        self.assertTrue(all(p.data == 0 for row in sd['layer0.attn_wo'] for p in row))


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
