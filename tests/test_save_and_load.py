"""save_and_load.diff: a loaded model samples what the trained one sampled; a file that cannot be
loaded is one line before any work; and a save loses nothing, whatever it is pointed at: it writes
only over a model it saved (never the dataset, the program, a folder, a link or another file), never
weights that are not finite, finds out before training that it cannot write, and leaves no file of
its own when it fails, is interrupted, or runs beside another run saving to the same place."""
import json, math, os, re, signal, subprocess, sys, tempfile, types, unittest
from unittest import mock

import harness

EXPERIMENT = 'save_and_load'
LAYOUT = ['wte', 'wpe', 'lm_head', 'layer0.attn_wq', 'layer0.attn_wk', 'layer0.attn_wv', 'layer0.attn_wo',
          'layer0.mlp_fc1', 'layer0.mlp_fc2']

def run(d, save_path='', **settings):
    """The patched file run in folder d on the small dataset; it saves only when asked to here."""
    return harness.run(d, data=harness.SMALL_NAMES, experiment=EXPERIMENT, save_path=save_path, **settings)

def listing(d):
    """Every name in the folder, hidden ones too, but the program and its dataset."""
    return sorted(set(os.listdir(d)) - {'microgpt.py', 'input.txt'})

def model_text(d, name='model.json'):
    with open(os.path.join(d, name), 'rb') as f:
        return f.read()

class RoundTrip(unittest.TestCase):
    def test_a_loaded_model_samples_the_names_the_trained_one_sampled_at_any_temperature(self):
        for sampling in ({}, {'temperature': 1.5}):
            with self.subTest(**sampling), tempfile.TemporaryDirectory() as d:
                trained = run(d, num_steps=25, save_path='model.json', n_embd=8, n_head=2, **sampling)
                self.assertEqual(trained.returncode, 0, trained.stderr)
                self.assertIn('saved the trained model to model.json', trained.stdout)
                self.assertEqual(listing(d), ['model.json'])  # and no temporary file
                saved = json.loads(model_text(d))
                loaded = run(d, load_path='model.json', n_embd=8, n_head=2, **sampling)
                self.assertEqual(loaded.returncode, 0, loaded.stderr)
                self.assertEqual((list(saved), list(saved['state_dict'])), (['vocab', 'state_dict'], LAYOUT))
                self.assertEqual((harness.losses(loaded.stdout), harness.SUMMARY.findall(loaded.stdout)), ([], []))
                self.assertEqual(len(harness.samples(trained.stdout)), 20)
                self.assertEqual(harness.samples(loaded.stdout), harness.samples(trained.stdout))

    def test_weights_read_back_bit_for_bit_and_a_model_it_saved_is_written_over(self):
        with tempfile.TemporaryDirectory() as d:  # loaded, then saved again: the same bytes (repr'd floats)
            self.assertEqual(run(d, num_steps=10, save_path='a.json').returncode, 0)
            p = run(d, load_path='a.json', save_path='b.json')
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(model_text(d, 'a.json'), model_text(d, 'b.json'))
            self.assertEqual(run(d, num_steps=4, save_path='a.json').returncode, 0)
            self.assertNotEqual(model_text(d, 'a.json'), model_text(d, 'b.json'))
            self.assertEqual(listing(d), ['a.json', 'b.json'])

    @unittest.skipIf(sys.platform == 'win32', 'no umask to compare with')
    def test_the_model_file_gets_the_permissions_any_new_file_of_yours_gets(self):
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, data=harness.SMALL_NAMES, experiment=EXPERIMENT, num_steps=2)
            p = subprocess.run(['sh', '-c', f'umask 027 && exec "{sys.executable}" microgpt.py'], cwd=d,
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(os.stat(os.path.join(d, 'model.json')).st_mode & 0o777, 0o640)

class Unusable(unittest.TestCase):
    def test_each_problem_is_one_line_and_exit_1_before_any_work(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(run(d, num_steps=2, save_path='model.json').returncode, 0)
            good = json.loads(model_text(d))
            self.assertEqual(run(d, num_steps=2, save_path='narrow.json', n_embd=8, n_head=2).returncode, 0)
            narrow = model_text(d, 'narrow.json').decode()
        sd = good['state_dict']
        huge = json.dumps(good).replace('"wpe": [[', '"wpe": [[' + '9' * 401 + ', ', 1)
        mismatch = 'saved from other data or settings, or not finite$'
        for content, expect in [
                (None, r"FileNotFoundError\(2, 'No such file or directory'\)$"), ('{"vocab": "abc", ', 'JSONDecodeError'),
                ('[1, 2, 3]', 'TypeError'), ('{"hello": "world"}', r"KeyError\('state_dict'\)$"),
                (json.dumps(dict(good, state_dict=dict(sd, wpe=[['x'] * 16] * 8))),
                 r"ValueError\(\"could not convert string to float: 'x'\"\)$"),
                (huge, 'OverflowError'), (json.dumps(dict(good, vocab=['a', 'b'])), mismatch), (narrow, mismatch),
                (json.dumps(dict(good, state_dict=dict(sd, wte=sd['wte'][:-1]))), mismatch),
                (json.dumps(dict(good, state_dict=dict(sd, wpe=[[float('nan')] * 16] * 8))), mismatch)]:
            with self.subTest(expect=expect), tempfile.TemporaryDirectory() as d:
                if content is not None:
                    with open(os.path.join(d, 'model.json'), 'w', encoding='utf-8') as f:
                        f.write(content)
                p = run(d, load_path='model.json')
                self.assertEqual((p.returncode, harness.losses(p.stdout)), (1, []), p.stderr)
                self.assertEqual(p.stderr.count('\n'), 1, p.stderr)
                self.assertRegex(p.stderr, '^microgpt: cannot load model.json: ' + expect)

    def test_a_setting_that_is_not_text(self):
        for name in ('save_path', 'load_path'):
            with self.subTest(name=name), tempfile.TemporaryDirectory() as d:
                p = run(d, **{name: True})
                self.assertEqual((p.returncode, p.stderr), (1, "microgpt: save_path and load_path must be text, or ''\n"))

class NothingLost(unittest.TestCase):
    """Every save_path a careless learner might give, tried for real: what was there stays as it was,
    the run stops before training with one line, and nothing of the run's is left behind."""

    def refused(self, d, save_path, expect):
        harness.prepare(d, experiment=EXPERIMENT, save_path=save_path)
        before = {name: self.read(d, name) for name in os.listdir(d)}
        p = harness.execute(d)
        self.assertEqual((p.returncode, harness.losses(p.stdout)), (1, []), p.stderr)  # before training
        self.assertRegex(p.stderr, '^microgpt: ' + expect + r'\n\Z')
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
            for save_path in ('input.txt', 'microgpt.py', 'models', 'link.json', 'dangling.json', 'notes.json',
                              os.path.join(d, 'input.txt'), os.path.join('models', '..', 'input.txt')):
                with self.subTest(save_path=save_path):
                    self.refused(d, save_path, f'will not write over {re.escape(save_path)}: not its model')

    def test_a_place_it_cannot_write_or_a_disk_too_full_is_refused_before_training(self):
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, data=harness.SMALL_NAMES, experiment=EXPERIMENT)
            for save_path in (os.path.join('no', 'such', 'model.json'), '/proc/model.json', 'model.json/'):
                with self.subTest(save_path=save_path):
                    self.refused(d, save_path, f'no room for {re.escape(save_path)}')
            if os.geteuid() != 0:  # root writes anywhere
                os.mkdir(os.path.join(d, 'locked'), 0o500)
                self.refused(d, os.path.join('locked', 'model.json'), 'no room for ')
        full = types.SimpleNamespace(total=100, used=99, free=1)
        with tempfile.TemporaryDirectory() as d, mock.patch('shutil.disk_usage', return_value=full), \
                self.assertRaises(SystemExit) as stopped:
            harness.load('Parameters', experiment=EXPERIMENT, save_path=os.path.join(d, 'model.json'))
        self.assertEqual(str(stopped.exception), f"microgpt: no room for {os.path.join(d, 'model.json')}")

    def test_a_late_failure_comes_after_the_samples_and_leaves_the_good_model_and_no_temporary_file(self):
        # Weights that are not finite (a weight of position 7 made nan: names of 2 letters never
        # reach it, so training goes on), and a disk that fills up halfway through the file.
        def half_then_full(obj, f, **kw):
            f.write('{"vocab": "ab')
            raise OSError(28, 'No space left on device')
        for broken, expect in [('nan', 'Out of range float values are not JSON compliant'),
                               ('disk', '[Errno 28] No space left on device')]:
            with self.subTest(broken), tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, 'model.json')
                self.assertEqual(run(d, num_steps=2, save_path='model.json').returncode, 0)
                good = model_text(d)
                ns = harness.load('Model', data=['ab', 'ba', 'bb'], experiment=EXPERIMENT, num_steps=2, save_path=path)
                ns['state_dict']['wpe'][7][0].data = math.nan if broken == 'nan' else 0.0
                harness.run_cell(ns, 'Training', EXPERIMENT)
                with mock.patch('json.dump', half_then_full if broken == 'disk' else json.dump), \
                        self.assertRaises(SystemExit) as stopped:
                    harness.run_cell(ns, 'Inference', EXPERIMENT)
                self.assertEqual(len(harness.samples(ns['_stdout'])), 20)  # the samples came first
                self.assertRegex(str(stopped.exception), re.escape(f'microgpt: cannot save to {path}: {expect}'))
                self.assertEqual((model_text(d), listing(d)), (good, ['model.json']))

    def test_an_interrupted_save_leaves_no_temporary_file(self):
        def interrupted(obj, f, **kw):
            f.write('{"vocab": "ab')
            raise KeyboardInterrupt
        with tempfile.TemporaryDirectory() as d:
            ns = harness.load('Model', experiment=EXPERIMENT, num_steps=2, save_path=os.path.join(d, 'model.json'))
            harness.run_cell(ns, 'Training', EXPERIMENT)
            with mock.patch('json.dump', interrupted), self.assertRaises(KeyboardInterrupt):
                harness.run_cell(ns, 'Inference', EXPERIMENT)
            self.assertEqual(os.listdir(d), [])

    def test_two_runs_saving_to_the_same_place_at_once_leave_one_whole_model(self):
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, data=harness.SMALL_NAMES, experiment=EXPERIMENT, num_steps=3, save_path='model.json')
            runs = [subprocess.Popen([sys.executable, 'microgpt.py'], cwd=d, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True) for _ in range(4)]
            for child in runs:
                self.assertEqual(child.wait(timeout=300), 0, child.communicate()[1])
            self.assertEqual(set(json.loads(model_text(d))), {'vocab', 'state_dict'})
            self.assertEqual(listing(d), ['model.json'])

    @unittest.skipIf(sys.platform == 'win32', 'Windows cannot send SIGINT (Ctrl-C) to a child process')
    def test_ctrl_c_during_training_still_saves_what_was_trained(self):
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, data=harness.SMALL_NAMES, experiment=EXPERIMENT)  # saves to model.json
            child = subprocess.Popen([sys.executable, '-u', 'microgpt.py'], cwd=d, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, encoding='utf-8')
            for line in child.stdout:
                if line.startswith('step    5 /'):
                    break
            child.send_signal(signal.SIGINT)
            rest, err = child.communicate(timeout=120)
            self.assertEqual(child.returncode, 0, err)
            self.assertIn('saved the trained model to model.json', rest)
            self.assertEqual(harness.samples(run(d, load_path='model.json').stdout), harness.samples(rest))
            self.assertEqual(listing(d), ['model.json'])

if __name__ == '__main__':
    unittest.main()
