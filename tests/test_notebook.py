"""microgpt.py as a notebook: converted by jupytext from its `# %%` cells and run cell by cell in
a real Jupyter kernel, with fewer steps; and its Training cell interrupted there, as a learner
does: training stops, the cell ends cleanly, and later cells work as usual."""
import os, tempfile, unittest

import harness

try:
    import jupytext, nbclient, jupyter_client
except ImportError:
    jupytext = None

@unittest.skipIf(jupytext is None, 'jupytext, nbclient or ipykernel is missing (CI installs them)')
class Notebook(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.addCleanup(self.folder.cleanup)
        with open(os.path.join(self.folder.name, 'input.txt'), 'w', encoding='utf-8') as f:
            f.write('\n'.join(harness.SMALL_NAMES) + '\n')

    def test_every_cell_runs_in_a_jupyter_kernel_and_the_samples_appear(self):
        nb = jupytext.reads(harness.source(num_steps=20), fmt='py:percent')
        code = [c for c in nb.cells if c.cell_type == 'code']
        self.assertEqual([c.metadata.get('title') for c in code], [
            None, 'Settings', 'Data', 'Tokenizer', 'Autograd', 'Parameters', 'Model', 'Training',
            'Inference'])
        nbclient.NotebookClient(nb, timeout=600, kernel_name='python3',
                                resources={'metadata': {'path': self.folder.name}}).execute()
        outputs = [out for cell in code for out in cell.get('outputs', [])]
        self.assertNotIn('error', [out.get('output_type') for out in outputs])
        text = ''.join(out.get('text', '') for out in outputs)
        self.assertIn('num docs: 45', text)
        self.assertIn('step   20 /   20', text)
        self.assertEqual(len(harness.samples(text)), 20)

    def run_cell(self, code, interrupt_after=None):
        """Run code in the kernel, interrupted once its output holds `interrupt_after`: (its printed
        text, the name of the error it ended with, or None)."""
        msg_id, text, error, interrupted = self.client.execute(code), '', None, False
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
            if interrupt_after and not interrupted and interrupt_after in text:
                self.kernel.interrupt_kernel()
                interrupted = True

    def test_interrupting_training_stops_that_cell_and_later_cells_work_as_usual(self):
        self.kernel = jupyter_client.KernelManager(kernel_name='python3')
        self.kernel.start_kernel(cwd=self.folder.name)
        self.addCleanup(self.kernel.shutdown_kernel, now=True)
        self.client = self.kernel.client()
        self.client.start_channels()
        self.addCleanup(self.client.stop_channels)
        self.client.wait_for_ready(timeout=120)
        cells = dict(harness.cells(harness.source()))  # the shipped settings: 500 steps
        for title in ('', 'Settings', 'Data', 'Tokenizer', 'Autograd', 'Parameters', 'Model'):
            self.assertIsNone(self.run_cell(cells[title])[1], title)
        self.run_cell('import signal; handler_before = signal.getsignal(signal.SIGINT)')
        text, error = self.run_cell(cells['Training'], interrupt_after='step    5 /')
        self.assertIsNone(error, text)  # the cell ended cleanly, not with KeyboardInterrupt
        k = len(harness.losses(text))
        self.assertLess(k, 500)
        self.assertIn(f'stopped by Ctrl-C after {k} steps\nmean loss of the last {k} steps:', text)
        # the handler is the one from before, and the weights did train (attn_wo starts at 0)
        text, error = self.run_cell("print(signal.getsignal(signal.SIGINT) is handler_before, "
                                    "any(p.data for p in state_dict['layer0.attn_wo'][0]))")
        self.assertEqual(text.split(), ['True', 'True'])
        text, error = self.run_cell(cells['Inference'])
        self.assertEqual((error, len(harness.samples(text))), (None, 20), text)
        text, error = self.run_cell('import time\nprint("waiting")\ntime.sleep(60)',
                                    interrupt_after='waiting')
        self.assertEqual(error, 'KeyboardInterrupt')  # a later cell is interrupted as usual

if __name__ == '__main__':
    unittest.main()
