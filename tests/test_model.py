"""The model: its names and layout the reference's; sampling near temperature 0 the argmax. (Its
forward pass and gradients: the NumPy twin's, test_twins.py; Adam: the reference's own lines.)"""
import unittest

import harness

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

class Sampling(unittest.TestCase):
    def test_temperature_near_zero_approaches_the_argmax(self):
        ns = harness.load('Inference', num_steps=30, temperature=1e-4, n_embd=8, n_head=2)
        self.assertEqual(harness.samples(ns['_stdout']), [harness.greedy(ns)] * 20)

if __name__ == '__main__':
    unittest.main()
