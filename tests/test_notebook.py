"""microgpt.py as a notebook: converted by jupytext from its `# %%` cells, each run in turn in a
real Jupyter kernel by nbclient, as a learner runs them; a cell that fails stops the test there.
(Ctrl-C in the Training cell: test_ctrl_c.py.)"""
import tempfile, unittest

import harness

try:
    import jupytext, nbclient
except ImportError:
    jupytext = None

@unittest.skipIf(jupytext is None, 'jupytext, nbclient or ipykernel is missing (CI installs them)')
class Notebook(unittest.TestCase):
    def test_its_cells_run_in_a_kernel_one_after_another(self):
        nb = jupytext.reads(harness.source(num_steps=20), fmt='py:percent')
        self.assertEqual([c.metadata.get('title') for c in nb.cells if c.cell_type == 'code'], [
            None, 'Settings', 'Data', 'Tokenizer', 'Autograd', 'Parameters', 'Model', 'Training',
            'Inference'])
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, data=harness.SMALL_NAMES)  # the kernel's folder: its input.txt
            nbclient.NotebookClient(nb, timeout=600, kernel_name='python3',
                                    resources={'metadata': {'path': d}}).execute()
        printed = ''.join(out.get('text', '') for c in nb.cells for out in c.get('outputs', []))
        self.assertIn('num docs: 45\nvocab size: 24\nnum params: 3968\n', printed)
        self.assertEqual((len(harness.losses(printed)), len(harness.samples(printed))), (20, 20))

if __name__ == '__main__':
    unittest.main()
