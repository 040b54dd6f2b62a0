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
WRAPPER = """import hashlib, runpy
ns = runpy.run_path('microgpt.py', run_name='__main__')
with open('weights.sha256', 'w') as f:
    f.write(hashlib.sha256('\\n'.join(repr(p.data) for p in ns['params']).encode()).hexdigest())
"""
_started = []  # (folder, child process) of the golden run, once started

def platform_key():
    return f"{sys.implementation.name}-{sys.platform}-{platform.libc_ver()[0] or 'other'}"

def start_golden_run():
    """The golden run, started once as a child process that runs on beside the other tests."""
    if not _started:
        folder = tempfile.TemporaryDirectory(prefix='microgpt-golden-')
        harness.prepare(folder.name, shipped_data=True)  # microgpt.py unmodified
        with open(os.path.join(folder.name, 'run.py'), 'w') as f:
            f.write(WRAPPER)
        path = lambda name: os.path.join(folder.name, name)
        with open(path('stdout.txt'), 'w') as out, open(path('stderr.txt'), 'w') as err:
            child = subprocess.Popen([sys.executable, 'run.py'], cwd=folder.name, stdout=out,
                                     stderr=err)
        atexit.register(child.kill)  # if the test never collects it (a failure elsewhere, Ctrl-C)
        _started.append((folder, child))
    return _started[0]

def load_tests(loader, tests, pattern):
    """unittest calls this as it collects the tests: the suite's longest run starts now, on the
    second core, unless -k left it out."""
    def ids(suite):
        for test in suite:
            yield from ids(test) if isinstance(test, unittest.TestSuite) else [test.id()]
    if any(name.endswith('golden_weights') for name in ids(tests)):
        start_golden_run()
    return tests

def golden_run():
    """(stdout, stderr, exit status, fingerprint or None) of the golden run."""
    folder, child = start_golden_run()
    child.wait(timeout=1800)
    path = lambda name: os.path.join(folder.name, name)
    out = [harness.read(path(name)) if os.path.exists(path(name)) else None
           for name in ('stdout.txt', 'stderr.txt', 'weights.sha256')]
    folder.cleanup()
    return out[0], out[1], child.returncode, out[2]

def recorded_weights():
    with open(WEIGHTS) as f:
        return dict(line.split() for line in f if line.strip() and not line.startswith('#'))

class Golden(unittest.TestCase):
    def test_the_default_run_prints_the_golden_lines_and_trains_the_golden_weights(self):
        stdout, stderr, status, fingerprint = golden_run()
        self.assertEqual((status, stderr), (0, ''), stderr)
        diff = first_difference(harness.read(OUTPUT).splitlines(), stdout.splitlines())
        if diff:
            self.fail(f'the output is not golden_output.txt: {diff}')
        key, recorded = platform_key(), recorded_weights()
        if key not in recorded:
            print(f'\n(golden weights: none recorded for {key}; only the printed lines were '
                  'compared)', file=sys.stderr)
            return
        self.assertEqual(fingerprint, recorded[key], f'the printed lines match, but the trained '
                         f'weights differ from those recorded for {key}: the arithmetic changed '
                         'in the last bits')


def remake():
    stdout, stderr, status, fingerprint = golden_run()
    if status != 0:
        sys.exit(f'microgpt.py failed:\n{stderr}')
    with open(OUTPUT, 'w', encoding='utf-8', newline='\n') as f:
        f.write(stdout)
    recorded = recorded_weights() if os.path.exists(WEIGHTS) else {}
    recorded[platform_key()] = fingerprint
    with open(WEIGHTS, 'w') as f:
        f.write('# SHA-256 of repr() of every parameter after the golden run, per platform '
                '(see test_whole_run.py)\n')
        f.writelines(f'{key} {value}\n' for key, value in sorted(recorded.items()))
    print(f'wrote {OUTPUT} ({len(stdout.splitlines())} lines) and the {platform_key()} '
          f'fingerprint {fingerprint}')

if __name__ == '__main__':
    if sys.argv[1:] == ['--remake']:
        remake()
    else:
        unittest.main()
