"""Bigger models than the default, which crash the reference's recursive backward with
RecursionError, and the same file under PyPy giving the same lines as CPython."""
import shutil, sys, tempfile, unittest

import harness


class Bigger(unittest.TestCase):
    """One real training step (the training cell with num_steps = 1) of each model."""

    def one_step(self, name, **settings):
        ns = harness.load('Training', data=[name], num_steps=1, **settings)
        try:
            self.assertEqual(len(harness.losses(ns['_stdout'])), 1)
            for key, value in settings.items():
                self.assertEqual(ns[key], value)
            self.assertTrue(any(p.data != 0 for p in ns['state_dict']['layer0.attn_wo'][0]))  # Adam moved it
        finally:
            ns.clear()  # millions of nodes: free them now, not in some later test's collection

    def test_eight_layers_and_a_context_of_32(self):
        self.one_step('abcdefghijklmnopqrstuvwxyzabcdef', n_layer=8, block_size=32)  # 32 positions

    def test_width_256(self):
        self.one_step('a', n_embd=256)


@unittest.skipIf(shutil.which('pypy3') is None, 'pypy3 is not installed (CI installs it)')
class PyPy(unittest.TestCase):
    def test_pypy_prints_the_same_step_and_sample_lines_as_cpython(self):
        outs = []
        for python in (sys.executable, shutil.which('pypy3')):
            with tempfile.TemporaryDirectory() as d:
                p = harness.run(d, data=harness.SMALL_NAMES, python=python, num_steps=40)
            self.assertEqual(p.returncode, 0, p.stderr)
            outs.append([l for l in p.stdout.splitlines() if l.startswith(('step ', 'sample '))])
        self.assertEqual(len(outs[0]), 60)
        self.assertEqual(outs[0], outs[1])


if __name__ == '__main__':
    unittest.main()
