"""How fast microgpt.py trains, and how much memory it takes, for given settings and Pythons.

    python tests/speed/benchmark.py                   # five sizes on every Python (minutes)
    python tests/speed/benchmark.py --set n_embd=32 --set n_head=2 --steps 20
    python tests/speed/benchmark.py --python python3.12 --python pypy3
    python tests/speed/benchmark.py --twins PYTHON    # whole default runs: microgpt.py, both twins

It runs the real microgpt.py as a program, up to the end of training (sampling is not timed), in a
temporary folder with the shipped input.txt, with the settings changed as asked, and prints a
Markdown table: a row per configuration (its settings and parameter count), a column per Python.
Each cell holds the seconds per training step (the median of the steps after the first, timed as
each step's line arrives), the time that projects to for 500 steps, and the peak memory (the child's
ru_maxrss). Before it times anything, it checks that each interpreter runs Python (and imports
torch, for the PyTorch file) and that the program accepts the settings there: a mistake is one line.
Standard library only.

The table goes to stdout (redirect it to keep it), progress to stderr; it writes no file, and the
temporary folders go when it ends.

With no arguments it measures CONFIGURATIONS below (the shipped settings, n_embd = 64, n_layer = 8,
n_layer = 8 with block_size = 32, n_embd = 256) on every Python it finds: each CPython from 3.6 up
under ~/.pyenv/versions or as python3.N on PATH, pypy3, and the PyTorch file if this Python has
torch. tests/MEASUREMENTS.md's tables are not this run: each figure there gives its own command.
(Not a test: unittest does not collect it, and timings never decide whether a test passes.)
"""
import argparse, os, platform, re, shutil, signal, statistics, subprocess, sys, tempfile, time
import types

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/: program
import program
from program import cpu, seconds, through
ci_pythons = program.tool('tests/ci/pythons.py')  # the Pythons CI's golden run looks for

try:
    import resource  # for the child's peak memory (Unix)
except ImportError:
    resource = None

# The bare run's rows: (settings, steps to time); the big models few steps, each takes seconds
CONFIGURATIONS = [({}, 30), ({'n_embd': '64'}, 6), ({'n_layer': '8'}, 6),
                  ({'n_layer': '8', 'block_size': '32'}, 6), ({'n_embd': '256'}, 3)]
# An interpreter's major.minor, then its name; in code any Python runs, so an old one is named too
WHOAMI = ("import platform, sys; v = getattr(sys, 'pypy_version_info', None); "
          "sys.stdout.write('%d.%d %s %s%s\\n' % (sys.version_info[:2] + "
          "(platform.python_implementation(), platform.python_version(), "
          "' (%d.%d.%d)' % v[:3] if v else '')))")


def fail(message):
    sys.exit(f'benchmark: {message}')


def interpreter(python, flag, modules=()):
    """What `python` says it is ('CPython 3.11.7', 'PyPy 3.9.16 (7.3.11)') and the version of
    each of `modules`; or one line that names `flag` and why it cannot be used, and exit 1."""
    code = WHOAMI + ''.join(f"; import {m}; sys.stdout.write({m}.__version__ + '\\n')"
                            for m in modules)
    try:
        p = subprocess.run([python, '-c', code], capture_output=True, text=True, errors='replace',
                           stdin=subprocess.DEVNULL)
    except OSError as e:  # missing, not executable, a folder
        fail(f'{flag}: cannot run it: ' + ('a folder' if os.path.isdir(python) else e.strerror))
    lines = p.stdout.splitlines() or ['']
    version, _, name = lines[0].partition(' ')
    if not re.fullmatch(r'\d+\.\d+', version) or not name:
        fail(f'{flag} is not a Python: it did not run a line of Python (exit {p.returncode})')
    if tuple(map(int, version.split('.'))) < (3, 6):
        fail(f'{flag} is {name}: microgpt.py needs Python 3.6 or newer')
    if p.returncode != 0:  # Python ran: a module did not import
        why = (p.stderr.strip().splitlines() or [f'exit status {p.returncode}'])[-1]
        fail(f'{flag} ({name}) cannot import {modules[len(lines) - 1]}: {why}')
    return name, lines[1:]


def stopped(where, error):
    """End the run as the program did: its own one line as one line; a traceback (a bug of yours
    in microgpt.py, say) whole, as Python reported it."""
    lines = error.strip().splitlines()
    if len(lines) == 1 and lines[0].startswith('microgpt: '):
        fail(f"{where} stops: {lines[0][len('microgpt: '):]}")
    fail(f'{where} stopped:\n{error}')


def shown(settings):
    return ', '.join(f'{k}={v}' for k, v in settings.items()) or 'as shipped'


def settings_in(text):
    """What microgpt.py's text sets in its cells through Settings, run here: [name] in order."""
    ns = {'__name__': 'benchmark-check'}
    for title in program.run_cells(text, ns):
        if title == 'Settings':
            return [k for k, v in ns.items()
                    if not k.startswith('__') and not isinstance(v, types.ModuleType)]


def check_settings(settings):
    """microgpt.py's cells through Settings, run here with `settings`: a name that is not one of
    its settings, a value it refuses, or one that is not Python is one line, before any
    interpreter starts."""
    names = settings_in(program.read(program.SCRIPT))
    for key in settings:
        if key not in names:
            fail(f'--set {key}: microgpt.py has no such setting; it has {", ".join(names)}')
    try:
        settings_in(program.source(codes=settings))
    except SystemExit as e:  # a check in the Settings cell: 'microgpt: ...'
        stopped(f'with --set {shown(settings)}, microgpt.py', str(e.code))
    except Exception as e:
        fail(f'with --set {shown(settings)}, microgpt.py stops: {type(e).__name__}: {e}')


def prepared(d, text):
    """Folder d with the program's text as microgpt.py, and the shipped input.txt."""
    with open(os.path.join(d, 'microgpt.py'), 'w', encoding='utf-8') as f:
        f.write(text)
    shutil.copy(os.path.join(program.ROOT, 'input.txt'), d)
    return d


def check_run(python, name, settings, script):
    """Run the script's cells through Parameters (the data, its characters, the memory check, the
    weights) with `python`, as measure() will: where it stops, it stops here, before any timing."""
    text = through(program.source(script, codes=settings), 'Parameters')
    with tempfile.TemporaryDirectory(prefix='microgpt-bench-') as d:
        p = subprocess.run([python, 'microgpt.py'], cwd=prepared(d, text), capture_output=True,
                           text=True, encoding='utf-8', stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        stopped(f'{os.path.basename(script)} with {shown(settings)} on {name}', p.stderr)


def measure(python, name, settings, steps, script=program.SCRIPT):
    """{'params', 'step', 'peak_mb'}: one run of microgpt.py (or the PyTorch file) with `settings`
    ({name: code})."""
    codes = {**settings, 'num_steps': str(steps)}
    text = through(program.source(script, codes=codes), 'Training')  # no sampling: not timed
    with tempfile.TemporaryDirectory(prefix='microgpt-bench-') as d:
        child = subprocess.Popen([python, '-u', 'microgpt.py'], cwd=prepared(d, text),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 encoding='utf-8', stdin=subprocess.DEVNULL)
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
    where = f'{os.path.basename(script)} with {shown(settings)} on {name}'
    if child.returncode < 0:  # the system's out-of-memory killer, or a kill of yours
        fail(f'{where} was ended by {signal.Signals(-child.returncode).name}')
    if child.returncode != 0:
        stopped(where, error)
    if params is None or len(stamps) != steps:  # the lines it prints were changed
        fail(f"{where} did not print a 'num params:' line and {steps} 'step ' lines to time")
    step = statistics.median(b - a for a, b in zip(stamps, stamps[1:]))
    return {'params': params, 'step': step, 'peak_mb': peak_mb}


def megabytes(mb):
    if mb is None:
        return 'n/a'
    return f'{mb:.0f} MB' if mb < 1000 else f'{mb / 1024:.1f} GB'


def table(configurations, runners):
    """Measure each configuration with each (python, script, name); print a Markdown table, a row
    as each is done."""
    print(f'{time.strftime("%Y-%m-%d")}, {cpu()}, {os.cpu_count()} cores, {platform.system()}')
    print('each cell: time per step · 500 steps · peak memory\n')
    print('| settings (the rest as shipped) | params | '
          + ' | '.join(name for _, _, name in runners) + ' |')
    print('| --- | --- |' + ' --- |' * len(runners), flush=True)
    for settings, steps in configurations:
        cells, params = [], None
        for python, script, name in runners:
            print(f'benchmark: {name}, {shown(settings)}, {steps} steps...', file=sys.stderr,
                  flush=True)
            started = time.perf_counter()
            m = measure(python, name, settings, steps, script)
            print(f'benchmark:   done in {time.perf_counter() - started:.0f} s', file=sys.stderr,
                  flush=True)
            params = m['params']
            cells.append(f"{seconds(m['step'])} · {seconds(500 * m['step'])} · "
                         f"{megabytes(m['peak_mb'])}")
        row = ', '.join(f'`{k} = {v}`' for k, v in settings.items()) or 'as shipped'
        print(f"| {row} | {params:,} | " + ' | '.join(cells) + ' |', flush=True)


def twins(python, flag, rounds=3):
    """Whole default runs, in turn, `rounds` times: microgpt.py with this interpreter, and the
    PyTorch and NumPy twins with `python` (which has both); each run's wall time, the medians, the
    ratios."""
    name, (torch_version, numpy_version) = interpreter(python, flag, ('torch', 'numpy'))
    own = interpreter(sys.executable, 'this Python')[0]
    runs = [('microgpt.py', sys.executable, program.SCRIPT, own),
            ('microgpt_torch.py', python, program.TORCH_SCRIPT, f'PyTorch {torch_version}, {name}'),
            ('microgpt_numpy.py', python, program.NUMPY_SCRIPT, f'NumPy {numpy_version}, {name}')]
    print(f'{time.strftime("%Y-%m-%d")}, {cpu()}, {os.cpu_count()} cores, {platform.system()}, '
          'each printed golden_output.txt\n')
    times = {file: [] for file, _, _, _ in runs}
    with tempfile.TemporaryDirectory(prefix='microgpt-twins-') as d:
        for file, _, script, _ in runs:
            shutil.copy(script, os.path.join(d, file))
        shutil.copy(os.path.join(program.ROOT, 'input.txt'), d)
        with open(os.path.join(program.ROOT, 'tests', 'golden_output.txt'), encoding='utf-8') as f:
            golden = f.read()
        for r in range(rounds):
            for file, interpreter_path, _, _ in runs:
                started = time.perf_counter()
                p = subprocess.run([interpreter_path, file], cwd=d, capture_output=True,
                                   text=True, encoding='utf-8', stdin=subprocess.DEVNULL)
                times[file].append(time.perf_counter() - started)
                if p.returncode != 0 or p.stdout != golden:
                    fail(f'{file} did not print golden_output.txt:\n{p.stderr}')
                print(f'benchmark: round {r + 1}, {file}: {times[file][-1]:.2f} s',
                      file=sys.stderr, flush=True)
    for line in twins_table(times, {file: described for file, _, _, described in runs}):
        print(line)


def twins_table(times, described):
    """The table's lines: each program's median wall time over its rounds, and how many times
    faster than microgpt.py's median it ran."""
    base = statistics.median(times['microgpt.py'])
    yield '| program | whole default run (median) | runs | microgpt.py\'s time over its |'
    yield '| --- | --- | --- | --- |'
    for file, runs in times.items():
        median = statistics.median(runs)
        yield (f"| {file} ({described[file]}) | {median:.2f} s | "
               f"{', '.join(f'{t:.2f}' for t in runs)} | {base / median:.0f}x |")


def main():
    ap = argparse.ArgumentParser(
        description='Time microgpt.py\'s training steps and peak memory: a Markdown table on '
                    'stdout, a row per configuration, a column per Python. With no arguments: '
                    'the shipped settings and four bigger ones, on every Python found.')
    ap.error = lambda message: fail(f'{message} (--help says more)')  # one line, exit 1
    ap.add_argument('--set', action='append', default=[], metavar='NAME=VALUE',
                    help='change a setting in the Settings cell, e.g. --set n_embd=64 '
                         '(repeatable; VALUE is Python, as you would write it in the file)')
    ap.add_argument('--steps', type=int, metavar='N',
                    help='training steps to run (at least 2: the first is not timed); default 20, '
                         'or per row with no arguments')
    ap.add_argument('--python', action='append', default=[], metavar='PATH',
                    help='the interpreter to run it with (repeatable); default: this one')
    ap.add_argument('--torch', metavar='PATH',
                    help='also run tests/twins/microgpt_torch.py with this interpreter, which has '
                         'PyTorch; default, with no other arguments: this one, if it has PyTorch')
    ap.add_argument('--twins', metavar='PATH',
                    help='instead: whole default runs of microgpt.py (this Python) and of both '
                         'twins with PATH, a Python that has PyTorch and NumPy, three rounds '
                         'taken in turn')
    args = ap.parse_args()
    if args.twins:
        if args.set or args.steps is not None or args.python or args.torch:
            ap.error('--twins makes whole default runs: it takes no --set, --steps, --python or '
                     '--torch')
        twins(shutil.which(args.twins) or args.twins, f'--twins {args.twins}')
        return
    if args.steps is not None and args.steps < 2:
        ap.error('--steps must be at least 2: the first step is not timed')
    settings = {}
    for item in args.set:
        key, sep, value = (part.strip() for part in item.partition('='))
        if not sep or not key or not value:
            ap.error(f'--set takes NAME=VALUE, such as n_embd=32, not {item!r}')
        if key == 'num_steps':
            ap.error('--set num_steps: the steps are --steps N')
        if key in settings:
            ap.error(f'--set {key} is given twice')
        settings[key] = value
    everywhere = not (settings or args.steps or args.python)  # the bare run: CONFIGURATIONS
    configurations = CONFIGURATIONS if everywhere else [(settings, args.steps or 20)]
    for chosen, _ in configurations:
        check_settings(chosen)
    runners = [(shutil.which(p) or p, program.SCRIPT, f'--python {p}') for p in args.python]
    found = []  # what was looked for, said once every check has passed
    if everywhere:
        for label, path in ci_pythons.pythons():
            found.append(f'benchmark: {label}: {path or "not found, skipped"}')
            if path:
                runners.append((path, program.SCRIPT, path))
    elif not runners:
        runners = [(sys.executable, program.SCRIPT, 'this Python')]
    if args.torch:
        runners.append((shutil.which(args.torch) or args.torch, program.TORCH_SCRIPT,
                        f'--torch {args.torch}'))
    elif everywhere:
        has_torch = subprocess.run([sys.executable, '-c', 'import torch'], capture_output=True)
        if has_torch.returncode == 0:
            runners.append((sys.executable, program.TORCH_SCRIPT, 'this Python'))
        found.append('benchmark: PyTorch file: ' + (sys.executable if has_torch.returncode == 0
                     else 'no PyTorch here (--torch PYTHON), skipped'))
    named = []  # each interpreter asked what it is, then each configuration tried on each
    for python, script, flag in runners:
        if script == program.TORCH_SCRIPT:
            name, (version,) = interpreter(python, flag, ('torch',))
            name = f'PyTorch {version}, CPU ({name})'
        else:
            name = interpreter(python, flag)[0]
        named.append((python, script, name))
    for chosen, _ in configurations:
        for python, script, name in named:
            check_run(python, name, chosen, script)
    for line in found:
        print(line, file=sys.stderr)
    table(configurations, named)


if __name__ == '__main__':
    main()
