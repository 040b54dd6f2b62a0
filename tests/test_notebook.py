"""microgpt.py as a notebook: converted by jupytext from its `# %%` cells (the percent format) and
executed cell by cell in a real Jupyter kernel, with fewer steps."""
import os, tempfile, unittest

import harness

try:
    import jupytext, nbclient
except ImportError:
    jupytext = None


@unittest.skipIf(jupytext is None, 'jupytext, nbclient and ipykernel are not installed (CI installs them)')
class Notebook(unittest.TestCase):
    def test_every_cell_runs_in_a_jupyter_kernel_and_the_samples_appear(self):
        nb = jupytext.reads(harness.source(num_steps=20), fmt='py:percent')
        code = [c for c in nb.cells if c.cell_type == 'code']
        self.assertEqual([c.metadata.get('title') for c in code],
                         [None, 'Settings', 'Data', 'Tokenizer', 'Autograd', 'Parameters', 'Model',
                          'Training', 'Inference'])
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, 'input.txt'), 'w', encoding='utf-8') as f:
                f.write('\n'.join(harness.SMALL_NAMES) + '\n')
            nbclient.NotebookClient(nb, timeout=600, kernel_name='python3',
                                    resources={'metadata': {'path': d}}).execute()
        text = []
        for cell in code:
            for out in cell.get('outputs', []):
                self.assertNotEqual(out.get('output_type'), 'error', out)
                text.append(out.get('text', ''))
        text = ''.join(text)
        self.assertIn('num docs: 45', text)
        self.assertIn('step   20 /   20', text)
        self.assertEqual(len(harness.samples(text)), 20)
        self.assertIn('sample 20: ', text)


if __name__ == '__main__':
    unittest.main()
