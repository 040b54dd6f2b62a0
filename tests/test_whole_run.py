"""The whole run: `python microgpt.py`, unmodified, on the shipped input.txt, prints exactly
golden_output.txt and trains exactly the weights golden_weights.txt fingerprints (the SHA-256 of
repr() of every parameter): the lines show 4 decimals, the weights every bit. Those bits depend on
the interpreter and its math library: one fingerprint per platform; where none is recorded, only
the lines are compared. A change meant to move the numbers: `python tests/test_whole_run.py
--remake` (and with pypy3), and the commit says why. (Named to run last: the run starts first, on
the second core, and is done by the time every other test is.)"""
import atexit, os, platform, subprocess, sys, tempfile, unittest

import harness
from program import first_difference

OUTPUT, WEIGHTS = (os.path.join(harness.ROOT, 'tests', f'golden_{n}.txt')
                   for n in ('output', 'weights'))
# The run, then its weights' fingerprint as one more line
FINGERPRINT = """import hashlib, runpy
ns = runpy.run_path('microgpt.py', run_name='__main__')
print(hashlib.sha256('\\n'.join(repr(p.data) for p in ns['params']).encode()).hexdigest())
"""
KEY = f"{sys.implementation.name}-{sys.platform}-{platform.libc_ver()[0] or 'other'}"
_started = []  # the golden run's folder and child process, once started

def load_tests(loader, tests, pattern):
    """unittest calls this as it collects the tests: the suite's longest run starts now, on the
    second core, unless -k left it out."""
    def ids(suite):
        for test in suite:
            yield from ids(test) if isinstance(test, unittest.TestSuite) else [test.id()]
    if any(name.endswith('golden_weights') for name in ids(tests)):
        start_golden_run()
    return tests

def start_golden_run():
    """The golden run, started once as a child process that runs on beside the other tests:
    [its folder, the child]."""
    if not _started:
        folder = tempfile.TemporaryDirectory(prefix='microgpt-golden-')
        harness.prepare(folder.name, shipped_data=True)  # microgpt.py unmodified
        child = subprocess.Popen([sys.executable, '-c', FINGERPRINT], cwd=folder.name,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding='utf-8')
        atexit.register(child.kill)  # if the test never collects it (a failure elsewhere, Ctrl-C)
        _started.extend([folder, child])
    return _started

def golden_run():
    """The golden run, waited for: (its lines, stderr, exit status, the fingerprint)."""
    folder, child = start_golden_run()
    out, err = child.communicate(timeout=1800)
    folder.cleanup()
    *lines, fingerprint = out.splitlines() or ['']
    return lines, err, child.returncode, fingerprint

def recorded_weights():
    with open(WEIGHTS) as f:
        return dict(line.split() for line in f if line.strip() and not line.startswith('#'))

class Golden(unittest.TestCase):
    def test_the_default_run_prints_the_golden_lines_and_trains_the_golden_weights(self):
        lines, stderr, status, fingerprint = golden_run()
        self.assertEqual((status, stderr), (0, ''), stderr)
        diff = first_difference(harness.read(OUTPUT).splitlines(), lines)
        if diff:
            self.fail(f'the output is not golden_output.txt: {diff}')
        recorded = recorded_weights()
        if KEY not in recorded:
            print(f'\n(golden weights: none recorded for {KEY}; only the printed lines were '
                  'compared)', file=sys.stderr)
            return
        self.assertEqual(fingerprint, recorded[KEY], f'the printed lines match, but '
                         f'the trained weights differ from those recorded for {KEY}: the '
                         'arithmetic changed in the last bits')

if __name__ == '__main__':
    if sys.argv[1:] == ['--remake']:
        lines, stderr, status, fingerprint = golden_run()
        if status != 0:
            sys.exit(f'microgpt.py failed:\n{stderr}')
        with open(OUTPUT, 'w', encoding='utf-8', newline='\n') as f:
            f.write(''.join(line + '\n' for line in lines))
        recorded = dict(recorded_weights(), **{KEY: fingerprint})
        with open(WEIGHTS, 'w') as f:
            f.write('# SHA-256 of repr() of every parameter after the golden run, per platform '
                    '(see test_whole_run.py)\n')
            f.writelines(f'{key} {value}\n' for key, value in recorded.items())
        print(f'wrote {OUTPUT} ({len(lines)} lines) and the {KEY} fingerprint {fingerprint}')
    else:
        unittest.main()
