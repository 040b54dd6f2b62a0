"""microgpt.py as a notebook: converted by jupytext from its `# %%` cells, each run in turn in a
real Jupyter kernel, as a learner runs them. (Ctrl-C in the Training cell: test_ctrl_c.py.)"""
import os, tempfile, unittest

import harness

try:
    import jupytext, jupyter_client
except ImportError:
    jupytext = None


@unittest.skipIf(jupytext is None, 'jupytext or ipykernel is missing (CI installs them)')
class Notebook(unittest.TestCase):
    def run_cell(self, code):
        """Run code in the kernel: (its printed text, the name of the error it ended with)."""
        msg_id, text, error = self.client.execute(code), '', None
        while True:
            msg = self.client.get_iopub_msg(timeout=600)
            if msg['parent_header'].get('msg_id') != msg_id:
                continue
            kind, content = msg['msg_type'], msg['content']
            if kind == 'stream':
                text += content['text']
            elif kind == 'error':
                error = content['ename']
            elif kind == 'status' and content['execution_state'] == 'idle':
                return text, error

    def test_its_cells_run_in_a_kernel_one_after_another(self):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        with open(os.path.join(folder.name, 'input.txt'), 'w', encoding='utf-8') as f:
            f.write('\n'.join(harness.SMALL_NAMES) + '\n')
        nb = jupytext.reads(harness.source(num_steps=20), fmt='py:percent')
        cells = [(c.metadata.get('title'), c.source) for c in nb.cells if c.cell_type == 'code']
        self.assertEqual([title for title, _ in cells], [
            None, 'Settings', 'Data', 'Tokenizer', 'Autograd', 'Parameters', 'Model', 'Training',
            'Inference'])
        self.kernel = jupyter_client.KernelManager(kernel_name='python3')
        self.kernel.start_kernel(cwd=folder.name)
        self.addCleanup(self.kernel.shutdown_kernel, now=True)
        self.client = self.kernel.client()
        self.client.start_channels()
        self.addCleanup(self.client.stop_channels)
        self.client.wait_for_ready(timeout=120)
        printed = ''
        for title, code in cells:
            text, error = self.run_cell(code)
            self.assertIsNone(error, (title, text))
            printed += text
        self.assertIn('num docs: 45\nvocab size: 24\nnum params: 3968\n', printed)
        self.assertEqual((len(harness.losses(printed)), len(harness.samples(printed))), (20, 20))


if __name__ == '__main__':
    unittest.main()
