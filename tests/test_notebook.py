"""microgpt.py as a notebook: converted by jupytext from its `# %%` cells and run cell by cell in
a real Jupyter kernel, its Training cell interrupted as a learner does: training stops, the cell
ends cleanly, and later cells work as usual."""
import os, tempfile, unittest

import harness

try:
    import jupytext, jupyter_client
except ImportError:
    jupytext = None


@unittest.skipIf(jupytext is None, 'jupytext or ipykernel is missing (CI installs them)')
class Notebook(unittest.TestCase):
    def run_cell(self, code, interrupt_after=None):
        """Run code in the kernel, interrupted once its output holds `interrupt_after`: (its
        printed text, the name of the error it ended with, or None)."""
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

    def test_its_cells_run_in_a_kernel_and_interrupting_training_keeps_what_was_learned(self):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        with open(os.path.join(folder.name, 'input.txt'), 'w', encoding='utf-8') as f:
            f.write('\n'.join(harness.SMALL_NAMES) + '\n')
        nb = jupytext.reads(harness.source(), fmt='py:percent')  # the shipped settings: 500 steps
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
        self.run_cell('import signal; handler_before = signal.getsignal(signal.SIGINT)')
        printed = ''
        for title, code in cells[:7]:
            text, error = self.run_cell(code)
            self.assertIsNone(error, title)
            printed += text
        self.assertIn('num docs: 45\nvocab size: 24\nnum params: 3968\n', printed)
        text, error = self.run_cell(cells[7][1], interrupt_after='step    5 /')
        self.assertIsNone(error, text)  # the cell ended cleanly, not with KeyboardInterrupt
        k = len(harness.losses(text))
        self.assertLess(k, 500)
        self.assertIn(f'stopped by Ctrl-C after {k} steps\nmean loss of the last {k} steps:', text)
        # Ctrl-C is as it was, the collector on, and the weights trained (attn_wo starts at 0)
        text, error = self.run_cell("import gc; print(signal.getsignal(signal.SIGINT) is "
                                    "handler_before, gc.isenabled(), any(p.data for p in "
                                    "state_dict['layer0.attn_wo'][0]))")
        self.assertEqual(text.split(), ['True', 'True', 'True'])
        text, error = self.run_cell(cells[8][1])
        self.assertEqual((error, len(harness.samples(text))), (None, 20), text)
        text, error = self.run_cell('import time\nprint("waiting")\ntime.sleep(60)',
                                    interrupt_after='waiting')
        self.assertEqual(error, 'KeyboardInterrupt')  # a later cell is interrupted as usual


if __name__ == '__main__':
    unittest.main()
