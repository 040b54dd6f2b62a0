"""save_and_load.diff: a loaded model samples what the trained one did; a file that cannot be loaded
(a matrix of another shape named) is one line before any work; a save writes over nothing but a
model it saved, says before training why it cannot write, saves before sampling, and when it fails
the samples still come, then one line; it leaves no file of its own and no file open."""
import contextlib, json, math, os, re, signal, subprocess, sys, tempfile, types, unittest
from unittest import mock

import harness

EXPERIMENT = 'save_and_load'

from test_experiments import setUpModule  # without git, skipped as the other experiments

def run(d, save_path='', **settings):  # in folder d, on the small dataset; saving if asked here
    harness.prepare(d, data=harness.SMALL_NAMES, experiment=EXPERIMENT, save_path=save_path,
                    **settings)
    return harness.execute(d, flags=('-W', 'always::ResourceWarning'))  # a file left open: stderr

def listing(d):  # every name in the folder, hidden ones too, but the program and its dataset
    return sorted(set(os.listdir(d)) - {'microgpt.py', 'input.txt'})

def model_text(d, name='model.json'):
    with open(os.path.join(d, name), 'rb') as f:
        return f.read()

class RoundTrip(unittest.TestCase):
    def test_a_loaded_model_samples_what_the_trained_one_did_and_saves_the_same_bytes(self):
        for sampling in ({}, {'temperature': 1.5}):
            with self.subTest(**sampling), tempfile.TemporaryDirectory() as d:
                narrow, umask = dict(sampling, n_embd=8, n_head=2), os.umask(0o027)
                try:
                    trained = run(d, num_steps=25, save_path='model.json', **narrow)
                finally:
                    os.umask(umask)
                self.assertEqual((trained.returncode, trained.stderr), (0, ''))
                if os.name == 'posix':  # the permissions any new file of yours gets
                    self.assertEqual(os.stat(os.path.join(d, 'model.json')).st_mode & 0o777, 0o640)
                out, saved = trained.stdout, model_text(d)
                self.assertLess(out.index('saved the trained model to model.json\n'),
                                out.index('--- inference'))  # before sampling, which cannot cost it
                self.assertEqual(list(json.loads(saved)), ['vocab', 'state_dict'])
                self.assertEqual(list(json.loads(saved)['state_dict']),
                                 list(harness.load('Parameters')['state_dict']))
                loaded = run(d, load_path='model.json', save_path='model.json', **narrow)
                self.assertEqual((loaded.returncode, loaded.stderr), (0, ''))  # every file closed
                self.assertEqual(harness.losses(loaded.stdout), [])  # no training
                self.assertEqual(len(harness.samples(out)), 20)
                self.assertEqual(harness.samples(loaded.stdout), harness.samples(out))
                self.assertEqual(model_text(d), saved)  # read back bit for bit, saved over its own
                self.assertEqual(run(d, num_steps=3, save_path='model.json').returncode, 0)
                self.assertNotEqual(model_text(d), saved)
                self.assertEqual(listing(d), ['model.json'])  # and no temporary file

    def test_a_model_that_cannot_be_loaded_is_one_line_and_exit_1_before_any_work(self):
        ns = harness.load('Parameters')  # a model as the patched file saves it
        sd = {k: [[p.data for p in row] for row in w] for k, w in ns['state_dict'].items()}
        good, v = {'vocab': ns['uchars'], 'state_dict': sd}, ns['vocab_size']
        model = lambda **matrices: json.dumps(dict(good, state_dict=dict(sd, **matrices)))
        fewer = json.dumps(dict(good, state_dict={k: w for k, w in sd.items() if k != 'lm_head'}))
        for content, expect in [
                (None, r"FileNotFoundError\(2, 'No such file or directory'\)"),
                ('{"vocab": "abc", ', r'JSONDecodeError\('), ('[1, 2, 3]', r'TypeError\('),
                ('{"hello": "world"}', r"KeyError\('vocab'\)"),
                (json.dumps(dict(good, vocab=['a', 'b'])), 'saved from other characters'),
                (model(wte=[row[:8] for row in sd['wte']]), rf"its wte is \({v}, 8\), this model's "
                                                            rf"\({v}, 16\)"),
                (model(wte=sd['wte'][:-1]), rf"its wte is \({v - 1}, 16\), this model's \({v}, 16"),
                (model(wpe=sd['wpe'][:-1] + [sd['wpe'][0][:15]]), r"its wpe is \(8, 15, 16\)"),
                (model(**{'layer1.attn_wq': sd['layer0.attn_wq']}),
                 r"its layer1.attn_wq is \(16, 16\), this model's missing"),
                (fewer, rf"its lm_head is missing, this model's \({v}, 16\)"),
                (model(wpe=[['x'] * 16] * 8), r"ValueError\(\"could not convert string to float"),
                (model(wpe=[[10 ** 400] * 16] * 8), r'OverflowError\('),
                (model(wpe=[[math.nan] * 16] * 8), 'a weight is not finite')]:
            with self.subTest(expect=expect), tempfile.TemporaryDirectory() as d:
                if content is not None:
                    with open(os.path.join(d, 'model.json'), 'w', encoding='utf-8') as f:
                        f.write(content)
                p = run(d, load_path='model.json')
                self.assertEqual((p.returncode, harness.losses(p.stdout)), (1, []), p.stderr)
                self.assertRegex(p.stderr, rf'^microgpt: cannot load model.json: {expect}.*\n\Z')

class NothingLost(unittest.TestCase):
    def refused(self, d, save_path, expect):
        harness.prepare(d, experiment=EXPERIMENT, save_path=save_path)
        before = {name: self.read(d, name) for name in os.listdir(d)}
        p = harness.execute(d)
        self.assertEqual((p.returncode, harness.losses(p.stdout)), (1, []), p.stderr)
        self.assertEqual(p.stderr, f'microgpt: {expect}\n')
        self.assertEqual({name: self.read(d, name) for name in os.listdir(d)}, before)

    def read(self, d, name):
        path = os.path.join(d, name)
        if os.path.islink(path):
            return ('link', os.readlink(path))
        return ('folder', sorted(os.listdir(path))) if os.path.isdir(path) else model_text(d, name)

    def test_the_dataset_the_program_a_folder_a_link_and_any_other_file_are_refused(self):
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, data=harness.SMALL_NAMES, experiment=EXPERIMENT)
            os.mkdir(os.path.join(d, 'models'))
            with open(os.path.join(d, 'notes.json'), 'w') as f:
                f.write('{"my": "notes"}')
            os.symlink('input.txt', os.path.join(d, 'link.json'))
            os.symlink('gone.json', os.path.join(d, 'dangling.json'))
            for save_path in ('input.txt', 'microgpt.py', 'models', 'link.json', 'dangling.json',
                              'notes.json', os.path.join(d, 'input.txt'),
                              os.path.join('models', '..', 'input.txt')):
                with self.subTest(save_path=save_path):
                    self.refused(d, save_path, f'will not write over {save_path}: not its model')

    def test_a_missing_or_locked_folder_or_a_full_disk_is_named_before_training(self):
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, data=harness.SMALL_NAMES, experiment=EXPERIMENT)
            no_such = os.path.join('no', 'such')
            for save_path, folder in ((os.path.join(no_such, 'm.json'), no_such),
                                      ('model.json/', 'model.json')):
                with self.subTest(save_path=save_path):
                    self.refused(d, save_path,
                                 f'cannot save to {save_path}: there is no folder {folder}')
            if os.geteuid() != 0:  # root writes anywhere
                os.mkdir(os.path.join(d, 'locked'), 0o500)
                locked = os.path.join('locked', 'm.json')
                self.refused(d, locked, f'cannot save to {locked}: locked is not writable')
            path, ns = os.path.join(d, 'm.json'), harness.load('Autograd', experiment=EXPERIMENT)
            cell = dict(harness.cells(harness.source(experiment=EXPERIMENT, save_path=path)))
            for name, value, expect in [  # the same checks, with the system mocked
                    ('os.access', False, f'cannot save to {path}: {d} is not writable'),
                    ('shutil.disk_usage', types.SimpleNamespace(free=1),
                     f'no room on the disk for {path}')]:
                with self.subTest(name), mock.patch(name, return_value=value), \
                        self.assertRaises(SystemExit) as stopped:
                    harness.run_code(cell['Parameters'], ns)
                self.assertEqual(str(stopped.exception), f'microgpt: {expect}')

    def test_a_failed_or_interrupted_save_keeps_the_old_model_whole_and_leaves_no_file(self):
        # A weight not finite (at position 7, which names of 2 letters never reach: training goes
        # on), a disk that fills up halfway through the file, Ctrl-C there; a failure said last.
        def half_then(error):
            def dump(obj, f, **kw):
                f.write('{"vocab": "ab')
                raise error
            return dump
        for broken, dump, expect in [
                ('nan', json.dump, 'Out of range float values are not JSON compliant'),
                ('disk', half_then(OSError(28, 'No space left on device')), '[Errno 28] No space'),
                ('ctrl-c', half_then(KeyboardInterrupt()), None)]:
            with self.subTest(broken), tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, 'model.json')
                self.assertEqual(run(d, num_steps=2, save_path='model.json').returncode, 0)
                good = model_text(d)
                ns = harness.load('Model', data=['ab', 'ba', 'bb'], experiment=EXPERIMENT,
                                  num_steps=2, save_path=path)
                ns['state_dict']['wpe'][7][0].data = math.nan if broken == 'nan' else 0.0
                with mock.patch('json.dump', dump), contextlib.suppress(KeyboardInterrupt):
                    harness.run_cell(ns, 'Training', EXPERIMENT)
                self.assertEqual((model_text(d), listing(d)), (good, ['model.json']))
                if expect:
                    with self.assertRaises(SystemExit) as stopped:
                        harness.run_cell(ns, 'Inference', EXPERIMENT)
                    self.assertEqual(len(harness.samples(ns['_stdout'])), 20)  # they came first
                    self.assertRegex(str(stopped.exception),
                                     '^' + re.escape(f'microgpt: cannot save to {path}: {expect}'))

    def test_four_runs_saving_to_the_same_place_at_once_leave_one_whole_model(self):
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, data=harness.SMALL_NAMES, experiment=EXPERIMENT, num_steps=3)
            runs = [subprocess.Popen([sys.executable, 'microgpt.py'], cwd=d, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True) for _ in range(4)]
            for child in runs:
                self.assertEqual(child.wait(timeout=300), 0, child.communicate()[1])
            self.assertEqual(set(json.loads(model_text(d))), {'vocab', 'state_dict'})
            self.assertEqual(listing(d), ['model.json'])

    @unittest.skipIf(sys.platform == 'win32', 'Windows cannot send SIGINT (Ctrl-C) to a child')
    def test_ctrl_c_during_training_still_saves_what_was_trained(self):
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, data=harness.SMALL_NAMES, experiment=EXPERIMENT)  # to model.json
            child = subprocess.Popen([sys.executable, '-u', 'microgpt.py'], cwd=d, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for line in child.stdout:
                if line.startswith('step    5 /'):
                    break
            child.send_signal(signal.SIGINT)
            rest, err = child.communicate(timeout=120)
            self.assertEqual(child.returncode, 0, err)
            self.assertIn('saved the trained model to model.json', rest)
            self.assertEqual(harness.samples(run(d, load_path='model.json').stdout),
                             harness.samples(rest))
            self.assertEqual(listing(d), ['model.json'])

if __name__ == '__main__':
    unittest.main()
