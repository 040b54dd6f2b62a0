"""The golden run: `python microgpt.py`, unmodified, on the shipped input.txt, must print exactly the
lines of golden_output.txt and end with exactly the trained weights fingerprinted in
golden_weights.txt.

Why both: printed losses have 4 decimals, so a change to the arithmetic in the last bits of a float
prints the same lines (editing rmsnorm's 1e-5 to 1.0000001e-5 does) while changing every trained
weight. The fingerprint is the SHA-256 of repr() of every parameter's value after the run, in order:
full precision, so that edit breaks it.

Full precision depends on the interpreter and on the platform's math library (exp, log, cos, pow):
CPython's and PyPy's weights differ in the last bits, though every printed line agrees. So
golden_weights.txt keeps one fingerprint per platform, named like `cpython-linux-glibc`. Where none
is recorded (macOS, Windows, musl...), the transcript must still match, but the weights are not
compared: rounding alone must not fail a user's run of the suite. The test says so in its output.

Both files were made by running this file with --remake, on Linux (glibc) under CPython and PyPy.
A change that alters either of them changes the arithmetic. If that is intended, remake them with
    python tests/test_golden.py --remake        (and pypy3 tests/test_golden.py --remake for PyPy)
and say in the commit why the numbers moved.
"""
import atexit, os, platform, subprocess, sys, tempfile, unittest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, 'golden_output.txt')
WEIGHTS = os.path.join(HERE, 'golden_weights.txt')

# Runs the unmodified microgpt.py as the main program, then fingerprints its trained weights.
WRAPPER = """import hashlib, runpy
ns = runpy.run_path('microgpt.py', run_name='__main__')
weights = '\\n'.join(repr(p.data) for p in ns['params'])
with open('weights.sha256', 'w') as f:
    f.write(hashlib.sha256(weights.encode()).hexdigest())
"""


def platform_key():
    return f"{sys.implementation.name}-{sys.platform}-{platform.libc_ver()[0] or 'other'}"


_started = []  # (folder, child process) of the golden run, once it has started


def start_golden_run():
    """Start the golden run as a child process, once; it runs on while other tests run."""
    if not _started:
        folder = tempfile.TemporaryDirectory(prefix='microgpt-golden-')
        harness.prepare(folder.name, shipped_data=True)  # microgpt.py unmodified
        with open(os.path.join(folder.name, 'run.py'), 'w') as f:
            f.write(WRAPPER)
        with open(os.path.join(folder.name, 'stdout.txt'), 'w') as out, \
                open(os.path.join(folder.name, 'stderr.txt'), 'w') as err:  # files, not pipes: it never waits on us
            child = subprocess.Popen([sys.executable, 'run.py'], cwd=folder.name, stdout=out, stderr=err)
        atexit.register(child.kill)  # if the test never collects it (a failure elsewhere, Ctrl-C)
        _started.append((folder, child))
    return _started[0]


def load_tests(loader, tests, pattern):
    """unittest calls this while it collects the tests, before it runs any: the golden run, the
    suite's longest, starts now and goes on beside the other tests (a second core does it)."""
    if any(name.endswith('golden_weights') for name in ids_in(tests)):  # not if -k left it out
        start_golden_run()
    return tests


def ids_in(suite):
    for test in suite:
        yield from ids_in(test) if isinstance(test, unittest.TestSuite) else [test.id()]


def golden_run():
    """(stdout, stderr, exit status, fingerprint) of the unmodified microgpt.py on the shipped input.txt."""
    folder, child = start_golden_run()
    child.wait(timeout=1800)
    with open(os.path.join(folder.name, 'stdout.txt'), encoding='utf-8') as f:
        stdout = f.read()
    with open(os.path.join(folder.name, 'stderr.txt'), encoding='utf-8') as f:
        stderr = f.read()
    fingerprint = None
    if os.path.exists(os.path.join(folder.name, 'weights.sha256')):
        with open(os.path.join(folder.name, 'weights.sha256')) as f:
            fingerprint = f.read()
    folder.cleanup()
    return stdout, stderr, child.returncode, fingerprint


def recorded_weights():
    with open(WEIGHTS) as f:
        return dict(line.split() for line in f if line.strip() and not line.startswith('#'))


def first_difference(want, got):
    """None if the two lists of lines are equal, else a short message about the first difference."""
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            return f'line {i + 1} differs:\n  expected {w!r}\n  got      {g!r}'
    if len(want) != len(got):
        n = min(len(want), len(got))
        extra = want[n] if len(want) > n else got[n]
        return (f'expected {len(want)} lines, got {len(got)}; line {n + 1} is '
                f'{"missing" if len(want) > n else "extra"}: {extra!r}')
    return None


class Golden(unittest.TestCase):
    def test_the_default_run_prints_the_golden_lines_and_trains_the_golden_weights(self):
        stdout, stderr, status, fingerprint = golden_run()
        self.assertEqual(status, 0, stderr)
        self.assertEqual(stderr, '')
        with open(OUTPUT, encoding='utf-8') as f:
            want = f.read().splitlines()
        diff = first_difference(want, stdout.splitlines())
        if diff:
            self.fail(f'the output is not golden_output.txt: {diff}')
        key = platform_key()
        recorded = recorded_weights()
        if key not in recorded:
            print(f'\n(golden weights: none recorded for {key}; only the printed lines were compared)',
                  file=sys.stderr)
            return
        self.assertEqual(fingerprint, recorded[key],
                         f'the printed lines match, but the trained weights differ from those recorded '
                         f'for {key}: the arithmetic changed in the last bits')

    def test_first_difference_names_the_line(self):
        self.assertIsNone(first_difference(['a', 'b'], ['a', 'b']))
        self.assertEqual(first_difference(['a', 'b', 'c'], ['a', 'x', 'c']),
                         "line 2 differs:\n  expected 'b'\n  got      'x'")
        self.assertEqual(first_difference(['a', 'b'], ['a']), "expected 2 lines, got 1; line 2 is missing: 'b'")
        self.assertEqual(first_difference(['a'], ['a', 'z']), "expected 1 lines, got 2; line 2 is extra: 'z'")


def remake():
    stdout, stderr, status, fingerprint = golden_run()
    if status != 0:
        sys.exit(f'microgpt.py failed:\n{stderr}')
    with open(OUTPUT, 'w', encoding='utf-8', newline='\n') as f:
        f.write(stdout)
    recorded = recorded_weights() if os.path.exists(WEIGHTS) else {}
    recorded[platform_key()] = fingerprint
    with open(WEIGHTS, 'w') as f:
        f.write('# SHA-256 of repr() of every parameter after the golden run, per platform (see test_golden.py)\n')
        f.writelines(f'{key} {value}\n' for key, value in sorted(recorded.items()))
    print(f'wrote {OUTPUT} ({len(stdout.splitlines())} lines) and the {platform_key()} fingerprint {fingerprint}')


if __name__ == '__main__':
    if sys.argv[1:] == ['--remake']:
        remake()
    else:
        unittest.main()
