"""save_and_load.diff: what Ctrl-C left is saved whole before sampling and loads back (an editor's
byte-order mark too) to sample the same names. Before training, one line: a file at save_path the
run did not load (a second run's), a folder, a place it cannot write to (too long a name too), a
model of other settings. A failed save keeps the file there as it was, the samples still come, then
one line; no file of its own."""
import math, os, pathlib, re, shutil, signal, subprocess, sys, tempfile, unittest

import harness

EXPERIMENT, NARROW = 'save_and_load', dict(n_embd=8, n_head=2)  # narrower: quicker, the same code

def setUpModule():
    if shutil.which('git') is None:
        raise unittest.SkipTest('applying a diff needs git, not installed here')

def run(d, data=harness.SMALL_NAMES, **settings):  # in folder d, saving to model.json
    harness.prepare(d, data=data, experiment=EXPERIMENT, **dict(NARROW, **settings))
    return harness.execute(d)

def files(d):  # each name in folder d (hidden ones too) but the program and its data: its bytes
    see = lambda p: (os.readlink(p) if os.path.islink(p) else sorted(os.listdir(p))
                     if os.path.isdir(p) else pathlib.Path(p).read_bytes())
    return {n: see(os.path.join(d, n)) for n in set(os.listdir(d)) - {'microgpt.py', 'input.txt'}}

class SaveAndLoad(unittest.TestCase):
    @unittest.skipIf(sys.platform == 'win32', 'Windows cannot send SIGINT (Ctrl-C) to a child')
    def test_a_real_ctrl_c_stops_training_and_what_was_trained_is_saved_whole_and_loads(self):
        def terminal():  # SIGINT as a terminal has it (a background job's child would ignore it),
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # and a umask that keeps out others: a
            os.umask(0o027)  # new file of the user's own gets it, as model.json must
        with tempfile.TemporaryDirectory() as d:
            harness.prepare(d, data=harness.SMALL_NAMES, experiment=EXPERIMENT, **NARROW)
            child = subprocess.Popen([sys.executable, '-u', 'microgpt.py'], cwd=d, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     preexec_fn=terminal)
            out = ''
            for line in child.stdout:
                out += line
                if line.startswith('step    5 /'):
                    child.send_signal(signal.SIGINT)
                    break
            rest, err = child.communicate(timeout=120)
            out, k = out + rest, len(harness.losses(out + rest))
            self.assertEqual((child.returncode, err, k < 500), (0, '', True))  # stopped early
            self.assertIn(f'stopped by Ctrl-C after {k} steps\n', out)
            self.assertLess(out.index('saved the trained model to model.json\n'),
                            out.index('--- inference'))  # before sampling, which cannot cost it
            self.assertEqual(os.stat(os.path.join(d, 'model.json')).st_mode & 0o777, 0o640)
            saved = files(d)['model.json']
            with open(os.path.join(d, 'model.json'), 'wb') as f:  # as an editor may save it
                f.write(b'\xef\xbb\xbf' + saved)
            loaded = run(d, load_path='model.json')  # and saved to where it was loaded from
            self.assertEqual((loaded.returncode, loaded.stderr, harness.losses(loaded.stdout)),
                             (0, '', []))  # no training
            self.assertEqual((len(harness.samples(out)), harness.samples(loaded.stdout)),
                             (20, harness.samples(out)))  # the names of the model it saved
            self.assertEqual(files(d), {'model.json': saved})  # bit for bit, and no file of its own

    def test_a_file_at_save_path_a_folder_or_a_model_of_other_settings_stops_before_training(self):
        there = "{0} is there already: move it away, or set load_path = '{0}' to sample from it"
        other, long = 'model.json was saved with other settings or data: set them as then', 'm' * 250
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(run(d, num_steps=2).returncode, 0)  # the first run's model.json
            os.mkdir(os.path.join(d, 'models'))
            os.symlink('gone.json', os.path.join(d, 'dangling.json'))  # a link to nothing
            before = files(d)
            for settings, expect in [
                    ({}, there.format('model.json')),  # a second run, as the first was
                    ({'save_path': 'dangling.json'}, there.format('dangling.json')),
                    ({'save_path': 'models'}, "save_path 'models' is a folder: name a file in it"),
                    ({'save_path': 'no/such/m.json'},
                     "cannot save to save_path 'no/such/m.json': No such file or directory"),
                    ({'save_path': long},  # its temporary file's name is longer still
                     f"cannot save to save_path '{long}': File name too long"),
                    ({'load_path': 'model.json', 'n_embd': 12}, other),  # every matrix's width
                    ({'load_path': 'model.json', 'n_layer': 2}, other),  # matrices it lacks
                    ({'load_path': 'model.json', 'block_size': 4}, other),  # wpe's rows
                    ({'load_path': 'model.json', 'data': [n.replace('e', 'E') for n in
                                                          harness.SMALL_NAMES]}, other)]:
                with self.subTest(**settings):
                    p = run(d, **settings)
                    self.assertEqual((p.returncode, p.stderr, harness.losses(p.stdout)),
                                     (1, f'microgpt: {expect}\n', []))
                    self.assertEqual(files(d), before)  # byte for byte

    def test_a_failed_save_keeps_the_model_there_whole_and_leaves_no_file_and_says_so_last(self):
        # A weight not finite: json.dump fails halfway, after wte (written in place, model.json
        # would be left cut off); and a file another run saved there while this one trained.
        for case, expect in [('nan', 'Out of range float values are not JSON compliant'),
                             ('appeared', '{} appeared while this run trained')]:
            with self.subTest(case), tempfile.TemporaryDirectory() as d:
                self.assertEqual(run(d, num_steps=2).returncode, 0)
                path = os.path.join(d, 'model.json' if case == 'nan' else 'other.json')
                ns = harness.load('Model', experiment=EXPERIMENT, save_path=path, num_steps=2,
                                  load_path=path * (case == 'nan'), **NARROW)  # loaded: its own
                if case == 'nan':
                    ns['state_dict']['wpe'][7][0].data = math.nan
                else:  # another run's model, saved there while this one trains
                    shutil.copy(os.path.join(d, 'model.json'), path)
                first = files(d)
                harness.run_cell(ns, 'Training', EXPERIMENT)
                self.assertEqual(files(d), first)  # byte for byte, and no file of its own
                ns['state_dict']['wpe'][7][0].data = 0.0  # a nan would stop the sampling
                with self.assertRaises(SystemExit) as stopped:
                    harness.run_cell(ns, 'Inference', EXPERIMENT)
                self.assertEqual(len(harness.samples(ns['_stdout'])), 20)  # they came first
                self.assertRegex(str(stopped.exception),
                                 '^' + re.escape(f'microgpt: cannot save to {path}: ' +
                                                 expect.format(path)))

if __name__ == '__main__':
    unittest.main()
