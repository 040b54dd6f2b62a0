"""The save-and-load experiment (tests/experiments/save_and_load.diff): a loaded model samples exactly
what the trained one sampled; a file that cannot be loaded stops the run with one line, before any
work; and a save loses nothing, whatever the learner points it at: it writes only over a model it
saved, never over the dataset, the program, a folder, a link or any other file, never weights that
are not finite, finds out before training that it cannot write, and leaves no file of its own
behind when it fails, is interrupted, or runs beside another run saving to the same place."""
import json, math, os, re, signal, subprocess, sys, tempfile, types, unittest
from unittest import mock

import harness

EXPERIMENT = 'save_and_load'
KEYS = {'vocab', 'state_dict'}


def run(d, save_path='', **settings):
    """Run the patched file in folder d (on the small dataset), where a saved model.json may be;
    it saves only when asked to here."""
    return harness.run(d, data=harness.SMALL_NAMES, experiment=EXPERIMENT, save_path=save_path, **settings)


def listing(d):
    """Every name in the folder, hidden ones too, but the program and its dataset."""
    return sorted(set(os.listdir(d)) - {'microgpt.py', 'input.txt'})


class RoundTrip(unittest.TestCase):
    def round_trip(self, **sampling):
        with tempfile.TemporaryDirectory() as d:
            trained = run(d, num_steps=25, save_path='model.json', n_embd=8, n_head=2, **sampling)
            self.assertEqual(trained.returncode, 0, trained.stderr)
            self.assertIn('saved the trained model to model.json', trained.stdout)
            self.assertEqual(listing(d), ['model.json'])  # and no temporary file
            with open(os.path.join(d, 'model.json'), encoding='utf-8') as f:
                saved = json.load(f)
            loaded = run(d, load_path='model.json', n_embd=8, n_head=2, **sampling)
            self.assertEqual(loaded.returncode, 0, loaded.stderr)
        self.assertEqual(set(saved), KEYS)
        self.assertEqual(list(saved['state_dict']), ['wte', 'wpe', 'lm_head', 'layer0.attn_wq', 'layer0.attn_wk',
                                                     'layer0.attn_wv', 'layer0.attn_wo', 'layer0.mlp_fc1',
                                                     'layer0.mlp_fc2'])
        self.assertEqual(harness.losses(loaded.stdout), [])  # no training
        self.assertNotIn('mean loss', loaded.stdout)
        names = harness.samples(trained.stdout)
        self.assertEqual(len(names), 20)
        self.assertEqual(harness.samples(loaded.stdout), names)
        return trained.stdout, loaded.stdout

    def test_a_loaded_model_samples_the_names_the_trained_one_sampled(self):
        self.round_trip()

    def test_temperature_applies_to_a_loaded_model(self):
        self.round_trip(temperature=1.5)

    def test_weights_read_back_bit_for_bit(self):
        # loaded, then saved again: the same file, byte for byte (floats are written with repr)
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(run(d, num_steps=10, save_path='a.json').returncode, 0)
            p = run(d, load_path='a.json', save_path='b.json')
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(d, 'a.json'), 'rb') as a, open(os.path.join(d, 'b.json'), 'rb') as b:
                self.assertEqual(a.read(), b.read())

    @unittest.skipIf(sys.platform == 'win32', 'no umask to compare with')
    def test_the_model_file_gets_the_permissions_any_new_file_of_yours_gets(self):
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, data=harness.SMALL_NAMES, experiment=EXPERIMENT, num_steps=2)
            p = subprocess.run(['sh', '-c', f'umask 027 && exec "{sys.executable}" microgpt.py'], cwd=d,
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(os.stat(os.path.join(d, 'model.json')).st_mode & 0o777, 0o640)

    def test_it_writes_over_a_model_it_saved(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(run(d, num_steps=3, save_path='model.json').returncode, 0)
            with open(os.path.join(d, 'model.json'), 'rb') as f:
                first = f.read()
            p = run(d, num_steps=4, save_path='model.json')
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(d, 'model.json'), 'rb') as f:
                self.assertNotEqual(f.read(), first)
            self.assertEqual(listing(d), ['model.json'])


class Unusable(unittest.TestCase):
    """Each unusable file: one line on stderr naming the problem, exit 1, no traceback, no training."""

    def check(self, content, expect, **settings):
        with tempfile.TemporaryDirectory() as d:
            if content is not None:
                with open(os.path.join(d, 'model.json'), 'w', encoding='utf-8') as f:
                    f.write(content)
            p = run(d, load_path='model.json', **settings)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertNotIn('Traceback', p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertEqual(harness.losses(p.stdout), [])
        self.assertRegex(p.stderr.strip(), '^microgpt: cannot load model.json: ' + expect)

    def saved_model(self, **settings):
        """A real saved model's text, from a 2-step run with these settings."""
        with tempfile.TemporaryDirectory() as d:
            p = run(d, num_steps=2, save_path='model.json', **settings)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(d, 'model.json'), encoding='utf-8') as f:
                return f.read()

    def test_each_problem_is_named_in_one_line(self):
        good = json.loads(self.saved_model())
        short = dict(good, state_dict=dict(good['state_dict'], wte=good['state_dict']['wte'][:-1]))
        words = dict(good, state_dict=dict(good['state_dict'], wpe=[['x'] * 16] * 8))
        nan = dict(good, state_dict=dict(good['state_dict'], wpe=[[float('nan')] * 16] * 8))
        huge = json.dumps(good).replace('"wpe": [[', '"wpe": [[' + '9' * 401 + ', ', 1)
        for content, expect in [
                (None, r"FileNotFoundError\(2, 'No such file or directory'\)$"),
                ('{"vocab": "abc", ', 'JSONDecodeError'),
                ('[1, 2, 3]', 'TypeError'),
                ('{"hello": "world"}', "KeyError\\('vocab'\\)$"),
                (json.dumps(words), "ValueError\\(\"could not convert string to float: 'x'\"\\)$"),
                (huge, 'OverflowError'),
                (json.dumps(dict(good, vocab='abc')), 'saved from other data or settings, or not finite$'),
                (self.saved_model(n_embd=8, n_head=2), 'saved from other data or settings, or not finite$'),
                (json.dumps(short), 'saved from other data or settings, or not finite$'),
                (json.dumps(nan), 'saved from other data or settings, or not finite$')]:
            with self.subTest(expect=expect):
                self.check(content, expect)

    def test_a_setting_that_is_not_text(self):
        for name in ('save_path', 'load_path'):
            with self.subTest(name=name), tempfile.TemporaryDirectory() as d:
                p = run(d, **{name: 3})
                self.assertEqual(p.returncode, 1)
                self.assertEqual(p.stderr.strip(), "microgpt: save_path and load_path must be text, or ''")


class NothingLost(unittest.TestCase):
    """Every save_path a careless learner might give, tried for real: what was there stays as it was,
    the run stops before training with one line, and nothing of the run's is left behind."""

    def refused(self, d, save_path, expect):
        harness.prepare(d, experiment=EXPERIMENT, save_path=save_path)
        before = {name: self.read(d, name) for name in os.listdir(d)}
        p = harness.execute(d)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(harness.losses(p.stdout), [])  # before training
        self.assertNotIn('Traceback', p.stderr)
        self.assertRegex(p.stderr.strip(), '^microgpt: ' + expect)
        self.assertEqual({name: self.read(d, name) for name in os.listdir(d)}, before)

    def read(self, d, name):
        path = os.path.join(d, name)
        if os.path.islink(path):
            return ('link', os.readlink(path))
        if os.path.isdir(path):
            return ('folder', sorted(os.listdir(path)))
        with open(path, 'rb') as f:
            return f.read()

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
                    self.refused(d, save_path, f'will not write over {re.escape(save_path)}: it is not a model microgpt saved$')

    def test_the_datasets_own_name_is_refused_even_while_the_dataset_is_missing(self):
        with tempfile.TemporaryDirectory() as d:  # no input.txt yet: a download would come first
            harness.prepare(d, experiment=EXPERIMENT, save_path='input.txt', names_url='http://127.0.0.1:9/x')
            p = harness.execute(d)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)

    def test_a_place_it_cannot_write_is_refused_before_training(self):
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, data=harness.SMALL_NAMES, experiment=EXPERIMENT)
            for save_path in (os.path.join('no', 'such', 'model.json'), '/proc/model.json', 'model.json/'):
                with self.subTest(save_path=save_path):
                    self.refused(d, save_path, f'no room for {re.escape(save_path)}$')
            if os.geteuid() != 0:  # root writes anywhere
                os.mkdir(os.path.join(d, 'locked'), 0o500)
                self.refused(d, os.path.join('locked', 'model.json'), 'no room for ')

    def test_a_disk_too_full_for_the_model_is_refused_before_training(self):
        with tempfile.TemporaryDirectory() as d, mock.patch('shutil.disk_usage', return_value=types.SimpleNamespace(total=100, used=99, free=1)):
            with self.assertRaises(SystemExit) as stopped:
                harness.load('Parameters', experiment=EXPERIMENT, save_path=os.path.join(d, 'model.json'))
        self.assertEqual(str(stopped.exception), f"microgpt: no room for {os.path.join(d, 'model.json')}")

    def save_over_a_good_model_fails(self, ns_of, expect):
        """Save a good model.json in a new folder, then run the Training cell in-process on the
        namespace ns_of(path) gives, saving there: it must stop with the one line `expect` names (with
        {path}), the good model unchanged, and no temporary file left in the folder."""
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'model.json')
            self.assertEqual(run(d, num_steps=2, save_path='model.json').returncode, 0)
            with open(path, 'rb') as f:
                good = f.read()
            ns = ns_of(path)
            harness.run_cell(ns, 'Training', EXPERIMENT)
            with self.assertRaises(SystemExit) as stopped:
                harness.run_cell(ns, 'Inference', EXPERIMENT)
            self.assertEqual(len(harness.samples(ns['_printed'])), 20)  # the samples came first
            self.assertEqual(str(stopped.exception), 'microgpt: ' + expect.format(path=path))
            with open(path, 'rb') as f:
                self.assertEqual(f.read(), good)
            self.assertEqual(sorted(os.listdir(d)), ['input.txt', 'microgpt.py', 'model.json'])

    def test_weights_that_are_not_finite_are_not_saved_and_the_good_model_stays(self):
        # A weight of position 7 made nan, which names of 2 letters never reach, so the loss stays
        # finite and training goes on; the save must refuse it.
        def with_a_nan(path):
            ns = harness.load('Model', data=['ab', 'ba', 'bb'], experiment=EXPERIMENT, num_steps=2, save_path=path)
            ns['state_dict']['wpe'][7][0].data = math.nan
            return ns
        self.save_over_a_good_model_fails(with_a_nan, 'not saving {path}: weights not finite')

    def test_a_save_failing_halfway_leaves_the_good_file_and_no_temporary_one(self):
        # json.dump failing halfway (a full disk, say).
        def half_then_fail(obj, f):
            f.write('{"vocab": "ab')
            raise OSError(28, 'No space left on device')
        with mock.patch('json.dump', half_then_fail):
            self.save_over_a_good_model_fails(
                lambda path: harness.load('Model', experiment=EXPERIMENT, num_steps=2, save_path=path),
                'cannot save to {path}: No space left on device')

    def test_an_interrupted_save_leaves_no_temporary_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'model.json')

            def interrupted(obj, f):
                f.write('{"vocab": "ab')
                raise KeyboardInterrupt
            ns = harness.load('Model', experiment=EXPERIMENT, num_steps=2, save_path=path)
            harness.run_cell(ns, 'Training', EXPERIMENT)
            with mock.patch('json.dump', interrupted), self.assertRaises(KeyboardInterrupt):
                harness.run_cell(ns, 'Inference', EXPERIMENT)
            self.assertEqual(os.listdir(d), [])

    def test_two_runs_saving_to_the_same_place_at_once_leave_one_whole_model(self):
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, data=harness.SMALL_NAMES, experiment=EXPERIMENT, num_steps=3,
                            save_path='model.json')
            runs = [subprocess.Popen([sys.executable, 'microgpt.py'], cwd=d, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True) for _ in range(4)]
            for child in runs:
                out, err = child.communicate(timeout=300)
                self.assertEqual(child.returncode, 0, err)
            with open(os.path.join(d, 'model.json'), encoding='utf-8') as f:
                self.assertEqual(set(json.load(f)), KEYS)
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
            loaded = run(d, load_path='model.json')
            self.assertEqual(harness.samples(loaded.stdout), harness.samples(rest))
            self.assertEqual(listing(d), ['model.json'])


if __name__ == '__main__':
    unittest.main()
