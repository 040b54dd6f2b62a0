"""How the tests reach the real microgpt.py without running its 500 steps.

microgpt.py is a script, not a module, so the tests use two handles it keeps on purpose:
- Settings: every setting is a `name = value` line at the left margin of its first cell (Adam's four
  share one: `learning_rate, beta1, beta2, eps_adam = ...`). `source(num_steps=20)` is the real
  file's text with those lines (or that one value) replaced.
- Cells: `# %%` lines split the file into notebook cells. `load(...)` executes the cells in order,
  up to and including the one named, in a fresh namespace, and returns that namespace, so tests
  can call `Value`, `gpt`, `softmax`... as the file defines them.
`run(...)` runs the (re-set) file as a real program in a temporary folder with its own input.txt.
Each of these takes `experiment='NAME'`: then the file is microgpt.py with tests/experiments/NAME.diff
applied (by `patched`, which applies a diff as strictly as `git apply` does: every line of context
must be where the diff says).
"""
import contextlib, gc, io, math, os, platform, random, re, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'microgpt.py')
TORCH_SCRIPT = os.path.join(ROOT, 'tests', 'twins', 'microgpt_torch.py')  # the same model in PyTorch
EXPERIMENTS = os.path.join(ROOT, 'tests', 'experiments')  # NAME.diff: a change to microgpt.py

# A small dataset: quick to train on, with names longer and shorter than block_size (8).
SMALL_NAMES = ['emma', 'olivia', 'ava', 'mia', 'amelia', 'ella', 'liam', 'noah', 'oliver', 'elijah',
               'james', 'william', 'benjamin', 'lucas', 'henry', 'alexander', 'mason', 'michael',
               'ethan', 'daniel', 'jacob', 'logan', 'jackson', 'levi', 'sebastian', 'mateo', 'jack',
               'owen', 'theodore', 'aiden', 'samuel', 'joseph', 'john', 'david', 'wyatt', 'matthew',
               'luke', 'asher', 'carter', 'julian', 'grayson', 'leo', 'jayden', 'gabriel', 'isaac']


@contextlib.contextmanager
def paused_gc():
    """Pause the cycle collector around heavy in-process graph work, as microgpt.py itself does."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def experiment_names():
    return sorted(name[:-len('.diff')] for name in os.listdir(EXPERIMENTS) if name.endswith('.diff'))


def patched(experiment, text=None):
    """microgpt.py's text (or `text`) with tests/experiments/NAME.diff applied. Strict, as `git apply`
    is: each hunk must find its context and removed lines exactly at the line it names, or this raises
    ValueError naming the hunk."""
    if text is None:
        with open(SCRIPT, encoding='utf-8') as f:
            text = f.read()
    with open(os.path.join(EXPERIMENTS, experiment + '.diff'), encoding='utf-8') as f:
        diff = f.read().split('\n')
    lines, out, at = text.split('\n'), [], 0  # `at`: the next line of `lines` not yet copied
    i = next(k for k, line in enumerate(diff) if line.startswith('--- ')) + 2  # after ---/+++
    while i < len(diff) and diff[i].startswith('@@'):
        start, count = (int(n) for n in re.match(r'@@ -(\d+)(?:,(\d+))? ', diff[i]).groups(default='1'))
        start = start - 1 if count else start  # 0-based index of the hunk's first old line
        if start < at:
            raise ValueError(f'{experiment}.diff: hunk {diff[i]} overlaps the one before it')
        out += lines[at:start]
        at, i = start, i + 1
        while i < len(diff) and diff[i][:1] in (' ', '-', '+', '\\'):
            kind, line = diff[i][:1], diff[i][1:]
            if kind in ' -':
                if at >= len(lines) or lines[at] != line:
                    raise ValueError(f'{experiment}.diff does not apply: line {at + 1} of microgpt.py is '
                                     f'{lines[at] if at < len(lines) else "past the end"!r}, not {line!r}')
                at += 1
            if kind in ' +':
                out.append(line)
            i += 1
    return '\n'.join(out + lines[at:])


def source(script=SCRIPT, experiment=None, codes=None, **settings):
    """The text of microgpt.py (or another script, or microgpt.py with an experiment applied) with the
    named settings set to new values: repr'd from **settings, or as written in `codes` ({name: Python})."""
    codes = dict(codes or {}, **{name: code(value) for name, value in settings.items()})
    if experiment:
        text = patched(experiment)
    else:
        with open(script, encoding='utf-8') as f:
            text = f.read()
    for name, value in codes.items():
        text, n = re.subn(rf'(?m)^{re.escape(name)}\s*=.*$', lambda m: f'{name} = {value}', text)
        if n == 0:  # one of several set on one line: `learning_rate, beta1, beta2, eps_adam = ...`
            text, n = re.subn(rf'(?m)^((?:\w+, )*){re.escape(name)}((?:, \w+)*) = (.*?)(\s+#.*)?$',
                              lambda m: set_one(m, name, value), text)
        if n != 1:
            raise ValueError(f'microgpt.py has no single setting line for {name}')
    return text


def code(value):
    """Python source for a setting's value: its repr, but float('nan') and float('inf') spelled out."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float('{value}')"
    return repr(value)


def set_one(m, name, value):
    """The line `a, b, c = 1, 2, 3` matched by m, with `name`'s value made `value`."""
    names = (m.group(1) + name + m.group(2)).split(', ')
    values = m.group(3).split(', ')
    if len(values) != len(names):
        raise ValueError(f'cannot set {name} on the line {m.group(0)!r}')
    values[names.index(name)] = value
    return f"{', '.join(names)} = {', '.join(values)}{m.group(4) or ''}"


def cells(text):
    """[(title, code)] for each `# %%` cell (its marker line kept, so line numbers stay true);
    the lines before the first cell come as title ''."""
    starts = [m.start() for m in re.finditer(r'(?m)^# %%', text)]
    bounds = [0] + starts + [len(text)]
    out = []
    for begin, end in zip(bounds, bounds[1:]):
        code = text[begin:end]
        title = code.split('\n', 1)[0][4:].strip() if code.startswith('# %%') else ''
        out.append((title, code))
    return out


def load(upto, data=None, script=SCRIPT, experiment=None, **settings):
    """Execute microgpt.py's (or another script's, or an experiment's) cells through the one titled
    `upto`; return the namespace. `data` (a list of lines) becomes the input file; settings are as for
    source()."""
    with tempfile.TemporaryDirectory(prefix='microgpt-test-') as folder:
        if 'input_path' not in settings:  # only the data cell reads it; the folder can go after
            settings['input_path'] = os.path.join(folder, 'input.txt')
            with open(settings['input_path'], 'w', encoding='utf-8') as f:
                f.write('\n'.join(SMALL_NAMES if data is None else data) + '\n')
        chosen = []
        for title, code in cells(source(script, experiment, **settings)):
            chosen.append(code)
            if title == upto:
                break
        else:
            raise AssertionError(f'{script} has no cell titled {upto!r}')
        namespace = {'__name__': 'microgpt'}
        namespace['_stdout'] = execute_code(''.join(chosen), namespace, script)
    return namespace


def execute_code(code, namespace, script=SCRIPT):
    """Execute cells' code in `namespace`, as a notebook does; return what it printed (kept as
    namespace['_printed'] too, for a cell that ends in an exception)."""
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            exec(compile(code, script, 'exec'), namespace)
        finally:
            namespace['_printed'] = out.getvalue()
    return out.getvalue()


def run_cell(namespace, title, experiment=None):
    """Execute microgpt.py's (or an experiment's) cell titled `title` (as shipped: its settings are the
    namespace's) in `namespace`, after load(); return what it printed."""
    return execute_code(dict(cells(source(experiment=experiment)))[title], namespace)


def prepare(folder, data=None, raw=None, script=SCRIPT, experiment=None, text=None, shipped_data=False,
            **settings):
    """Write microgpt.py (or another script, under its own name; or an experiment, as microgpt.py;
    with settings changed, if any; or `text`, as microgpt.py) into `folder`, and input.txt from
    `data` (lines), `raw` (bytes) or, with shipped_data, a copy of the shipped one."""
    name = 'microgpt.py' if text is not None else os.path.basename(script)
    with open(os.path.join(folder, name), 'w', encoding='utf-8') as f:
        f.write(source(script, experiment, **settings) if text is None else text)
    if shipped_data:
        shutil.copy(os.path.join(ROOT, 'input.txt'), os.path.join(folder, 'input.txt'))
    if data is not None:
        raw = ('\n'.join(data) + '\n').encode('utf-8')
    if raw is not None:
        with open(os.path.join(folder, 'input.txt'), 'wb') as f:
            f.write(raw)


def execute(folder, script='microgpt.py', python=None, timeout=600, flags=()):
    """Run a script as a program with `folder` as its working directory. Returns CompletedProcess."""
    return subprocess.run([python or sys.executable, *flags, script], cwd=folder, capture_output=True,
                          text=True, encoding='utf-8', timeout=timeout)


def run(folder, data=None, raw=None, python=None, script=SCRIPT, experiment=None, **settings):
    prepare(folder, data, raw, script, experiment, **settings)
    return execute(folder, script=os.path.basename(script), python=python)


def doc_loss(ns, doc):
    """The training loss for one document, exactly as the training cell computes it."""
    tokens = [ns['BOS']] + [ns['uchars'].index(ch) for ch in doc] + [ns['BOS']]
    n = min(ns['block_size'], len(tokens) - 1)
    keys, values = [[] for _ in range(ns['n_layer'])], [[] for _ in range(ns['n_layer'])]
    all_logits, losses = [], []
    for pos_id in range(n):
        logits = ns['gpt'](tokens[pos_id], pos_id, keys, values)
        all_logits.append([l.data for l in logits])
        losses.append(-ns['softmax'](logits)[tokens[pos_id + 1]].log())
    return (1 / n) * sum(losses), all_logits, tokens[:n + 1]


def randomize(ns, seed=0):
    """Give every weight a non-zero random value (attn_wo and mlp_fc2 start at zero, which would
    leave attention's gradients exactly zero and a comparison of gradients toothless)."""
    rng = random.Random(seed)
    for p in ns['params']:
        p.data = rng.gauss(0, 0.3)


def finite_difference(ns, doc, p, h=1e-6):
    """d(loss)/d(p) for one document by central differences, p's value put back afterwards."""
    old = p.data
    p.data = old + h
    up = doc_loss(ns, doc)[0].data
    p.data = old - h
    down = doc_loss(ns, doc)[0].data
    p.data = old
    return (up - down) / (2 * h)


def losses(stdout):
    return [float(line.rsplit(' ', 1)[1]) for line in stdout.splitlines() if line.startswith('step ')]


def gradient_logs(stdout):
    """{step: {matrix: (rms weight, rms grad, update/weight)}} from grad_log_every's report."""
    logs, step = {}, None
    for line in stdout.splitlines():
        if line.startswith('  at step '):
            step = int(line.split()[2])
            logs[step] = {}
        elif line.startswith('  ') and step is not None:
            name, *numbers = line.split()
            logs[step][name] = tuple(float(x) for x in numbers)
    return logs


def samples(stdout):
    return [line.split(': ', 1)[1] if ': ' in line else '' for line in stdout.splitlines()
            if line.startswith('sample ')]


def seconds(s):
    if s < 1:
        return f'{s:.3f} s'
    if s < 90:
        return f'{s:.3g} s'
    if s < 90 * 60:
        return f'{s / 60:.1f} min'
    return f'{s / 3600:.1f} h'


def cpu():
    """The CPU's model name, where the system says it."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
