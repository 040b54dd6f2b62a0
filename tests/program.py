"""microgpt.py as text, for the tests and the learner's tools alike: its `# %%` cells, its settings
set to other values, an experiment's diff applied with `git apply`, as a learner applies it, and
its cells run in a namespace (run_cells). Standard library only."""
import contextlib, importlib.util, math, os, platform, re, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'microgpt.py')
TORCH_SCRIPT = os.path.join(ROOT, 'tests', 'twins', 'microgpt_torch.py')
NUMPY_SCRIPT = os.path.join(ROOT, 'tests', 'twins', 'microgpt_numpy.py')
EXPERIMENTS = os.path.join(ROOT, 'tests', 'experiments')

def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()

def experiment_names():
    return sorted(name[:-5] for name in os.listdir(EXPERIMENTS) if name.endswith('.diff'))

def git_apply(diff, text, reverse=False):
    """text, as microgpt.py, with the diff file applied (or undone) by `git apply` in a folder of
    its own; ValueError with git's reason if it does not apply, or if there is no git."""
    name = os.path.basename(diff)
    if shutil.which('git') is None:
        raise ValueError(f'{name}: applying a diff needs git (git apply): not found')
    with tempfile.TemporaryDirectory(prefix='microgpt-apply-') as d:
        with open(os.path.join(d, 'microgpt.py'), 'w', encoding='utf-8', newline='') as f:
            f.write(text)
        p = subprocess.run(['git', 'apply', *['-R'] * reverse, os.path.abspath(diff)], cwd=d,
                           env=dict(os.environ, GIT_CEILING_DIRECTORIES=os.path.dirname(d)),
                           capture_output=True, text=True)  # (no repository above d)
        if p.returncode:
            reason = (p.stderr.splitlines() or ['git apply failed'])[0].replace('error: ', '')
            raise ValueError(f'{name} does not apply to this microgpt.py: {reason}')
        with open(os.path.join(d, 'microgpt.py'), encoding='utf-8', newline='') as f:
            return f.read()

def patched(experiment, text=None):  # microgpt.py's text (or `text`) with NAME.diff applied
    return git_apply(os.path.join(EXPERIMENTS, experiment + '.diff'),
                     read(SCRIPT) if text is None else text)

def source(script=SCRIPT, experiment=None, codes=None, seed=None, **settings):
    """The script's text (microgpt.py's, or with an experiment applied) with settings set to new
    values: repr'd from **settings (nan and inf spelt out), or as Python source in `codes`. Each
    setting is a `name = value` line at the left margin (Adam's four share one); `seed` rewrites
    the `random.seed(42)` line."""
    spelt = lambda v: f"float('{v}')" if isinstance(v, float) and not math.isfinite(v) else repr(v)
    codes = dict(codes or {}, **{name: spelt(v) for name, v in settings.items()})
    text = patched(experiment) if experiment else read(script)
    if seed is not None:
        text, found = re.subn(r'(?m)^random\.seed\(42\)', f'random.seed({seed})', text, count=1)
        if not found:
            raise ValueError(f'{script} has no random.seed(42) line')
    for name, value in codes.items():
        pattern = rf'(?m)^((?:\w+, )*){re.escape(name)}((?:, \w+)*) = (.*?)(\s+#.*)?$'
        found = re.findall(pattern, text)
        if len(found) != 1:
            raise ValueError(f'{script} has no single setting line for {name}')
        before, after, values, comment = found[0]
        names = (before + name + after).split(', ')
        values = values.split(', ') if len(names) > 1 else [values]
        values[names.index(name)] = value
        text = re.sub(pattern, lambda m: f"{', '.join(names)} = {', '.join(values)}{comment}", text)
    return text

def cells(text):
    """[(title, code)] for each `# %%` cell, its marker line kept; the lines before it: ''."""
    bounds = [0] + [m.start() for m in re.finditer(r'(?m)^# %%', text)] + [len(text)]
    chunks = [text[a:b] for a, b in zip(bounds, bounds[1:])]
    return [(c.split('\n', 1)[0][4:].strip() if c.startswith('# %%') else '', c) for c in chunks]

def run_cells(text, ns, path=SCRIPT, start=None):
    """Run the text's cells one after another in the namespace ns (from the one titled `start`),
    as a notebook runs them, each compiled with its line numbers in `path`; yield each cell's title
    once it has run (stop by leaving the loop). The one way the tests and the tools run them."""
    line = 1
    for title, code in cells(text):
        start = None if title == start else start
        if start is None:
            exec(compile('\n' * (line - 1) + code, path, 'exec'), ns)
            yield title
        line += code.count('\n')

def tool(path):
    """A tool's file (as tests/look_inside/look_inside.py) imported as a module, for the tests:
    nothing else adds a folder to the import path."""
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
    module = sys.modules[name] = importlib.util.module_from_spec(spec)  # for a tool it imports
    spec.loader.exec_module(module)
    return module

def through(text, title):  # the text's cells up to and including the one titled `title`
    chunks = cells(text)
    titles = [name for name, _ in chunks]  # (ValueError if none is)
    return ''.join(code for _, code in chunks[:titles.index(title) + 1])

def first_difference(want, got):
    """None if the two lists of lines are equal, else a short message about the first difference."""
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            return f'line {i + 1} differs:\n  expected {w!r}\n  got      {g!r}'
    if len(want) != len(got):
        n = min(len(want), len(got))
        which, line = ('missing', want[n]) if len(want) > n else ('extra', got[n])
        return f'expected {len(want)} lines, got {len(got)}; line {n + 1} is {which}: {line!r}'
    return None

def losses(stdout):
    return [float(line.rsplit(' ', 1)[1]) for line in stdout.splitlines()
            if line.startswith('step ')]

def samples(stdout):
    return [line.split(': ', 1)[1] if ': ' in line else '' for line in stdout.splitlines()
            if line.startswith('sample ')]

def gradient_logs(stdout):
    """{step: {matrix: (rms weight, rms grad, update/weight)}} from gradient_log.diff's report."""
    logs, step = {}, None
    for line in stdout.splitlines():
        if line.startswith('  at step '):
            step = int(line.split()[2])
            logs[step] = {}
        elif line.startswith('  ') and step is not None:
            name, *numbers = line.split()
            logs[step][name] = tuple(float(x) for x in numbers)
    return logs

def seconds(s):  # as the tools' tables give a time
    if s < 90:
        return f'{s:.3f} s' if s < 1 else f'{s:.3g} s'
    return f'{s / 60:.1f} min' if s < 90 * 60 else f'{s / 3600:.1f} h'

def cpu():
    """The CPU's model name, where the system says it."""
    with contextlib.suppress(OSError), open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    return platform.processor() or platform.machine()
