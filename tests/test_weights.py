"""Trained weights saved and loaded (save_path, load_path): a loaded model samples exactly what the
trained one sampled, in microgpt.py, in tests/microgpt_torch.py, and from one file to the other; a
file that cannot be used stops the run with one line, before any work; a save never leaves half a
file where a good one was, and a Ctrl-C during training still saves."""
import json, os, tempfile, unittest
from unittest import mock

import harness

try:
    import torch
except ImportError:
    torch = None

SCRIPT, TORCH = harness.SCRIPT, harness.TORCH_SCRIPT
needs_torch = unittest.skipIf(torch is None, 'PyTorch is not installed (CI installs it)')


def run(d, script=SCRIPT, **settings):
    """Run the script in folder d (on the small dataset), where a saved model.json may be."""
    return harness.run(d, data=harness.SMALL_NAMES, script=script, **settings)


class RoundTrip(unittest.TestCase):
    def round_trip(self, saver, loader, **sampling):
        """Train and save with one script, load with another; return both runs' stdout."""
        with tempfile.TemporaryDirectory() as d:
            trained = run(d, saver, num_steps=25, save_path='model.json', **sampling)
            self.assertEqual(trained.returncode, 0, trained.stderr)
            self.assertIn('saved the trained model to model.json', trained.stdout)
            with open(os.path.join(d, 'model.json'), encoding='utf-8') as f:
                saved = json.load(f)
            loaded = run(d, loader, load_path='model.json', **sampling)
            self.assertEqual(loaded.returncode, 0, loaded.stderr)
        self.assertEqual(set(saved), {'vocab', 'n_embd', 'n_head', 'n_layer', 'block_size', 'state_dict'})
        self.assertEqual(list(saved['state_dict']), ['wte', 'wpe', 'lm_head', 'layer0.attn_wq', 'layer0.attn_wk',
                                                     'layer0.attn_wv', 'layer0.attn_wo', 'layer0.mlp_fc1',
                                                     'layer0.mlp_fc2'])
        self.assertEqual(harness.losses(loaded.stdout), [])  # no training
        self.assertNotIn('mean loss', loaded.stdout)
        names = harness.samples(trained.stdout)
        self.assertEqual(len(names), sampling.get('num_samples', 20))
        self.assertEqual(harness.samples(loaded.stdout), names)
        return trained.stdout, loaded.stdout

    def test_microgpt_samples_the_same_names_after_loading(self):
        self.round_trip(SCRIPT, SCRIPT)

    def test_prompt_temperature_and_num_samples_apply_to_a_loaded_model(self):
        _, loaded = self.round_trip(SCRIPT, SCRIPT, prompt='ja', temperature=1.5, num_samples=7)
        self.assertTrue(all(name.startswith('ja') for name in harness.samples(loaded)))

    def test_weights_read_back_bit_for_bit(self):
        # loaded, then saved again: the same file, byte for byte (floats are written with repr)
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(run(d, num_steps=10, num_samples=1, save_path='a.json').returncode, 0)
            p = run(d, num_samples=1, load_path='a.json', save_path='b.json')
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(d, 'a.json'), 'rb') as a, open(os.path.join(d, 'b.json'), 'rb') as b:
                self.assertEqual(a.read(), b.read())

    @needs_torch
    def test_the_pytorch_file_samples_the_same_names_after_loading(self):
        self.round_trip(TORCH, TORCH)

    @needs_torch
    def test_trained_in_pytorch_sampled_by_microgpt(self):
        self.round_trip(TORCH, SCRIPT)

    @needs_torch
    def test_trained_by_microgpt_sampled_in_pytorch(self):
        self.round_trip(SCRIPT, TORCH, prompt='ma')


class Unusable(unittest.TestCase):
    """Each unusable file: one line on stderr naming the problem, exit 1, no traceback, no training."""

    def check(self, script, content, expect, **settings):
        with tempfile.TemporaryDirectory() as d:
            if content is not None:
                with open(os.path.join(d, 'model.json'), 'w', encoding='utf-8') as f:
                    f.write(content)
            p = run(d, script, load_path='model.json', **settings)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertNotIn('Traceback', p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertEqual(harness.losses(p.stdout), [])
        self.assertRegex(p.stderr.strip(), '^microgpt: cannot load model.json: ' + expect)
        return p.stderr.strip()

    def saved_model(self, **settings):
        """A real saved model's text, from a 2-step run with these settings."""
        with tempfile.TemporaryDirectory() as d:
            p = run(d, num_steps=2, num_samples=1, save_path='model.json', **settings)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(d, 'model.json'), encoding='utf-8') as f:
                return f.read()

    def cases(self):
        good = json.loads(self.saved_model())
        short = dict(good, state_dict=dict(good['state_dict'], wte=good['state_dict']['wte'][:-1]))
        words = dict(good, state_dict=dict(good['state_dict'], wpe=[['x'] * 16] * 8))
        return [
            (None, 'No such file or directory$'),
            ('{"vocab": "abc", ', r'not a microgpt model \(JSONDecodeError: '),
            ('[1, 2, 3]', r'not a microgpt model \(TypeError: '),
            ('{"hello": "world"}', r"not a microgpt model \(KeyError: 'vocab'\)$"),
            (json.dumps(dict(good, vocab='abc')), "vocab is 'abc' in the file, '[a-z]+' here$"),
            (self.saved_model(n_embd=8, n_head=2), 'n_embd is 8 in the file, 16 here$'),
            (self.saved_model(n_layer=2), 'n_layer is 2 in the file, 1 here$'),
            (json.dumps(short), '3952 weights in the file, 3968 here$'),
            (json.dumps(words), r"not a microgpt model \(ValueError: could not convert string to float: 'x'\)$"),
        ]

    def test_each_problem_is_named_in_one_line(self):
        for content, expect in self.cases():
            with self.subTest(expect=expect):
                self.check(SCRIPT, content, expect)

    @needs_torch
    def test_the_pytorch_file_says_the_same(self):
        for content, expect in self.cases():
            with self.subTest(expect=expect):
                self.assertEqual(self.check(TORCH, content, expect), self.check(SCRIPT, content, expect))

    def test_a_missing_save_folder_is_named_before_training(self):
        with tempfile.TemporaryDirectory() as d:
            p = run(d, save_path=os.path.join('no', 'such', 'model.json'))
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip(), f"microgpt: cannot save to {os.path.join('no', 'such', 'model.json')}: "
                                           "its folder does not exist")
        self.assertEqual(p.stdout, '')


class SafeSave(unittest.TestCase):
    def test_a_failed_save_leaves_the_good_file_as_it_was(self):
        # The Training cell in-process, its json.dump failing halfway (a full disk, say).
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'model.json')
            with open(path, 'w') as f:
                f.write('a good model')

            def half_then_fail(obj, f):
                f.write('{"vocab": "ab')
                raise OSError(28, 'No space left on device')
            ns = harness.load('Model', num_steps=2, save_path=path)
            with mock.patch('json.dump', half_then_fail), self.assertRaises(OSError):
                harness.run_cell(ns, 'Training')
            with open(path) as f:
                self.assertEqual(f.read(), 'a good model')
            ns.clear()


if __name__ == '__main__':
    unittest.main()
