"""How fast microgpt.py trains, and how much memory it takes, for given settings and Pythons.

    python tests/speed/benchmark.py                                   # tests/README.md's table (minutes)
    python tests/speed/benchmark.py --set n_embd=32 --set n_head=2 --steps 20
    python tests/speed/benchmark.py --python python3.12 --python pypy3
    python tests/speed/benchmark.py --twins PYTHON    # whole default runs: microgpt.py and both twins

It runs the real microgpt.py as a program, in a temporary folder with the shipped input.txt, with
the settings changed as asked, and prints a Markdown table: a row per configuration (its settings
and parameter count), a column per Python. Each cell holds the seconds per training step (the
median of the steps after the first, timed as each step's line arrives), the time that projects to
for 500 steps, and the peak memory (the child's ru_maxrss). Progress goes to stderr. Standard
library only.

With no arguments it measures the shipped settings and four bigger ones on every Python it finds:
each CPython from 3.6 up under ~/.pyenv/versions or as python3.N on PATH, and pypy3.
(Not a test: unittest does not collect it, and timings never decide whether a test passes.)
"""
import argparse, os, platform, shutil, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/, for harness
import harness
from harness import cpu, seconds
sys.path.insert(0, os.path.join(harness.ROOT, 'tests', 'ci'))
import pythons as ci_pythons

try:
    import resource  # for the child's peak memory (Unix)
except ImportError:
    resource = None

# tests/README.md's table: (settings, steps to time). The big models get few steps: each takes seconds.
CONFIGURATIONS = [({}, 30), ({'n_embd': '64'}, 6), ({'n_layer': '8'}, 6),
                  ({'n_layer': '8', 'block_size': '32'}, 6), ({'n_embd': '256'}, 3)]


def describe(python, script=harness.SCRIPT):
    """'CPython 3.11.7' or 'PyPy 3.9.16 (7.3.11)': what the interpreter says of itself; for the
    PyTorch file, 'PyTorch 2.13.0+cpu, CPU (CPython 3.11.7)'."""
    code = ("import platform, sys; v = getattr(sys, 'pypy_version_info', None); "
            "print(platform.python_implementation(), platform.python_version(), "
            "'(%d.%d.%d)' % v[:3] if v else '')")
    name = subprocess.run([python, '-c', code], capture_output=True, text=True, check=True).stdout.strip()
    if script == harness.SCRIPT:
        return name
    return f'PyTorch {torch_version(python)}, CPU ({name})'


def torch_version(python):
    """The PyTorch version that `python` imports, or None."""
    p = subprocess.run([python, '-c', 'import torch; print(torch.__version__)'], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else None


def measure(python, settings, steps, script=harness.SCRIPT):
    """{'params', 'step', 'peak_mb'}: one run of microgpt.py (or the PyTorch file) with `settings`
    ({name: code})."""
    text = harness.source(script, codes={**settings, 'num_steps': str(steps)})
    with tempfile.TemporaryDirectory(prefix='microgpt-bench-') as d:
        harness.prepare(d, text=text, shipped_data=True)
        child = subprocess.Popen([python, '-u', 'microgpt.py'], cwd=d, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, encoding='utf-8')
        params, stamps = None, []
        for line in child.stdout:  # each step's line is printed as the step ends: time its arrival
            if line.startswith('num params:'):
                params = int(line.split(':')[1])
            elif line.startswith('step '):
                stamps.append(time.perf_counter())
        if resource is not None and hasattr(os, 'wait4'):
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            # ru_maxrss is in kilobytes on Linux, in bytes on macOS
            peak_mb = usage.ru_maxrss / (1024 * 1024 if sys.platform == 'darwin' else 1024)
        else:
            child.wait()
            peak_mb = None
        error = child.stderr.read()
    if child.returncode != 0:
        sys.exit(f'benchmark: microgpt.py failed with {python}:\n{error}')
    step = statistics.median(b - a for a, b in zip(stamps, stamps[1:]))
    return {'params': params, 'step': step, 'peak_mb': peak_mb}


def megabytes(mb):
    if mb is None:
        return 'n/a'
    return f'{mb:.0f} MB' if mb < 1000 else f'{mb / 1024:.1f} GB'


def table(configurations, runners):
    """Measure each configuration with each (python, script); print a Markdown table, a row as each
    is done."""
    names = [describe(python, script) for python, script in runners]
    print('| settings (the rest as shipped) | params | ' + ' | '.join(names) + ' |')
    print('| --- | --- |' + ' --- |' * len(names), flush=True)
    for settings, steps in configurations:
        cells, params = [], None
        for (python, script), name in zip(runners, names):
            shown = ', '.join(f'{k}={v}' for k, v in settings.items()) or 'as shipped'
            print(f'benchmark: {name}, {shown}, {steps} steps...', file=sys.stderr, flush=True)
            started = time.perf_counter()
            m = measure(python, settings, steps, script)
            print(f'benchmark:   done in {time.perf_counter() - started:.0f} s', file=sys.stderr, flush=True)
            params = m['params']
            cells.append(f"{seconds(m['step'])} · {seconds(500 * m['step'])} · {megabytes(m['peak_mb'])}")
        shown = ', '.join(f'`{k} = {v}`' for k, v in settings.items()) or 'as shipped'
        print(f"| {shown} | {params:,} | " + ' | '.join(cells) + ' |', flush=True)


def twins(python, rounds=3):
    """Whole default runs, in turn, `rounds` times: microgpt.py with this interpreter, and the PyTorch
    and NumPy twins with `python` (which has both); each run's wall time, the medians, the ratios."""
    numpy_script = os.path.join(harness.ROOT, 'tests', 'twins', 'microgpt_numpy.py')
    runs = [('microgpt.py', sys.executable, harness.SCRIPT), ('microgpt_torch.py', python, harness.TORCH_SCRIPT),
            ('microgpt_numpy.py', python, numpy_script)]
    times = {name: [] for name, _, _ in runs}
    with tempfile.TemporaryDirectory(prefix='microgpt-twins-') as d:
        for name, _, script in runs:
            shutil.copy(script, os.path.join(d, name))
        shutil.copy(os.path.join(harness.ROOT, 'input.txt'), d)
        with open(os.path.join(harness.ROOT, 'tests', 'golden_output.txt'), encoding='utf-8') as f:
            golden = f.read()
        for r in range(rounds):
            for name, interpreter, _ in runs:
                started = time.perf_counter()
                p = subprocess.run([interpreter, name], cwd=d, capture_output=True, text=True)
                times[name].append(time.perf_counter() - started)
                if p.returncode != 0 or p.stdout != golden:
                    sys.exit(f'benchmark: {name} did not print golden_output.txt:\n{p.stderr}')
                print(f'benchmark: round {r + 1}, {name}: {times[name][-1]:.2f} s', file=sys.stderr, flush=True)
    base = statistics.median(times['microgpt.py'])
    print('| program | whole default run (median) | runs | microgpt.py\'s time over its |')
    print('| --- | --- | --- | --- |')
    for name, interpreter, _ in runs:
        median = statistics.median(times[name])
        print(f"| {name} ({describe(interpreter)}) | {median:.2f} s | {', '.join(f'{t:.2f}' for t in times[name])} "
              f"| {base / median:.0f}x |")


def main():
    ap = argparse.ArgumentParser(
        description='Time microgpt.py\'s training steps and peak memory: a Markdown table, a row per '
                    'configuration, a column per Python. With no arguments: the shipped settings and '
                    'four bigger ones, on every Python found.')
    ap.add_argument('--set', action='append', default=[], metavar='NAME=VALUE',
                    help='change a setting in the Settings cell, e.g. --set n_embd=64 (repeatable; '
                         'VALUE is Python, as you would write it in the file)')
    ap.add_argument('--steps', type=int, metavar='N',
                    help='training steps to run (at least 2: the first is not timed); default 20, '
                         'or per row with no arguments')
    ap.add_argument('--python', action='append', default=[], metavar='PATH',
                    help='the interpreter to run it with (repeatable); default: this one')
    ap.add_argument('--torch', metavar='PATH',
                    help='also run tests/twins/microgpt_torch.py with this interpreter, which has PyTorch; '
                         'default, with no other arguments: this one, if it has PyTorch')
    ap.add_argument('--twins', metavar='PATH',
                    help='instead: whole default runs of microgpt.py (this Python) and of both twins with '
                         'PATH, a Python that has PyTorch and NumPy, three rounds taken in turn')
    args = ap.parse_args()
    if args.twins:
        print(f'{time.strftime("%Y-%m-%d")}, {cpu()}, {os.cpu_count()} cores, {platform.system()}, '
              'each printed golden_output.txt\n')
        twins(shutil.which(args.twins) or args.twins)
        return
    if args.steps is not None and args.steps < 2:
        ap.error('--steps must be at least 2: the first step is not timed')
    settings = {}
    for item in args.set:
        name, sep, value = item.partition('=')
        if not sep or not name.strip() or not value.strip():
            ap.error(f'--set takes NAME=VALUE, not {item!r}')
        settings[name.strip()] = value.strip()
    try:
        harness.source(codes=settings)
    except ValueError as e:
        ap.error(str(e))
    pythons = [shutil.which(p) or p for p in args.python]
    print(f'{time.strftime("%Y-%m-%d")}, {cpu()}, {os.cpu_count()} cores, {platform.system()}')
    print('each cell: time per step · 500 steps · peak memory\n')
    torch = [(shutil.which(args.torch) or args.torch, harness.TORCH_SCRIPT)] if args.torch else []
    if settings or args.steps or pythons:
        table([(settings, args.steps or 20)], [(p, harness.SCRIPT) for p in pythons or [sys.executable]] + torch)
        return
    found = []
    for label, path in ci_pythons.pythons():
        print(f'benchmark: {label}: {path or "not found, skipped"}', file=sys.stderr)
        if path:
            found.append((path, harness.SCRIPT))
    if not torch and torch_version(sys.executable):
        torch = [(sys.executable, harness.TORCH_SCRIPT)]
    print(f'benchmark: PyTorch file: {torch[0][0] if torch else "no PyTorch here (--torch PYTHON), skipped"}',
          file=sys.stderr)
    table(CONFIGURATIONS, found + torch)


if __name__ == '__main__':
    main()
