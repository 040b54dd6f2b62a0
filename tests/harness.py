"""How the tests reach the real microgpt.py without running its 500 steps.

microgpt.py is a script, not a module, so the tests use two handles it keeps on purpose:
- Settings: every setting is one `name = value` line at the left margin of its first cell.
  `source(num_steps=20)` is the real file's text with those lines replaced.
- Cells: `# %%` lines split the file into notebook cells. `load(...)` executes the cells in order,
  up to and including the one named, in a fresh namespace, and returns that namespace, so tests
  can call `Value`, `gpt`, `softmax`... as the file defines them.
`run(...)` runs the (re-set) file as a real program in a temporary folder with its own input.txt.
"""
import contextlib, gc, glob, io, os, re, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'microgpt.py')
TORCH_SCRIPT = os.path.join(ROOT, 'tests', 'microgpt_torch.py')  # the same model in PyTorch

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


def source(script=SCRIPT, **settings):
    """The text of microgpt.py (or another script) with the named settings set to new values (repr'd)."""
    return source_with({name: repr(value) for name, value in settings.items()}, script)


def source_with(settings, script=SCRIPT):
    """The text of microgpt.py (or another script) with each setting's line made `name = code`, for a
    {name: code} dict."""
    with open(script, encoding='utf-8') as f:
        text = f.read()
    for name, code in settings.items():
        text, n = re.subn(rf'(?m)^{re.escape(name)}\s*=.*$', lambda m: f'{name} = {code}', text)
        if n != 1:
            raise ValueError(f'microgpt.py has no single setting line for {name}')
    return text


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


def load(upto, data=None, script=SCRIPT, **settings):
    """Execute microgpt.py's (or another script's) cells through the one titled `upto`; return the
    namespace. `data` (a list of lines) becomes the input file; settings are as for source()."""
    with tempfile.TemporaryDirectory(prefix='microgpt-test-') as folder:
        if 'input_path' not in settings:  # only the data cell reads it; the folder can go after
            settings['input_path'] = os.path.join(folder, 'input.txt')
            with open(settings['input_path'], 'w', encoding='utf-8') as f:
                f.write('\n'.join(SMALL_NAMES if data is None else data) + '\n')
        chosen = []
        for title, code in cells(source(script, **settings)):
            chosen.append(code)
            if title == upto:
                break
        else:
            raise AssertionError(f'{script} has no cell titled {upto!r}')
        namespace = {'__name__': 'microgpt'}
        namespace['_stdout'] = execute_code(''.join(chosen), namespace, script)
    return namespace


def execute_code(code, namespace, script=SCRIPT):
    """Execute cells' code in `namespace`, as a notebook does; return what it printed."""
    try:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            exec(compile(code, script, 'exec'), namespace)
    finally:
        gc.enable()  # the training cell pauses the collector until the end of the file
    return out.getvalue()


def run_cell(namespace, title):
    """Execute microgpt.py's cell titled `title` (as shipped: its settings are the namespace's) in
    `namespace`, after load(); return what it printed."""
    return execute_code(dict(cells(source()))[title], namespace)


def prepare(folder, data=None, raw=None, script=SCRIPT, **settings):
    """Write microgpt.py (or another script, under its own name; with settings changed, if any) into
    `folder`, and input.txt from `data` (lines) or `raw` (bytes) unless both are None."""
    with open(os.path.join(folder, os.path.basename(script)), 'w', encoding='utf-8') as f:
        f.write(source(script, **settings))
    if data is not None:
        raw = ('\n'.join(data) + '\n').encode('utf-8')
    if raw is not None:
        with open(os.path.join(folder, 'input.txt'), 'wb') as f:
            f.write(raw)


def prepare_shipped(folder, text=None):
    """Write `text` (default: microgpt.py as it is) into `folder` as microgpt.py, beside a copy of the
    shipped input.txt."""
    with open(os.path.join(folder, 'microgpt.py'), 'w', encoding='utf-8') as f:
        f.write(source() if text is None else text)
    shutil.copy(os.path.join(ROOT, 'input.txt'), os.path.join(folder, 'input.txt'))


def execute(folder, script='microgpt.py', python=None, timeout=600, flags=()):
    """Run a script as a program with `folder` as its working directory. Returns CompletedProcess."""
    return subprocess.run([python or sys.executable, *flags, script], cwd=folder, capture_output=True,
                          text=True, encoding='utf-8', timeout=timeout)


def run(folder, data=None, raw=None, python=None, script=SCRIPT, **settings):
    prepare(folder, data, raw, script, **settings)
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


# The interpreters the golden test (in CI) and tests/benchmark.py run on: every CPython from 3.9 up,
# and PyPy. Each minor version is looked for under pyenv (~/.pyenv/versions/3.N.*/bin/python3, the
# newest patch release) and then as python3.N on PATH; PyPy as pypy3 on PATH.
WANTED = ['3.9', '3.10', '3.11', '3.12', '3.13']


def pythons():
    """[(label, path or None)] for each CPython in WANTED (and any newer one found), then PyPy.
    A None path means that interpreter is not on this machine."""
    def version(path):  # '3.11.7' from ~/.pyenv/versions/3.11.7/bin/python3
        return tuple(int(n) for n in re.findall(r'\d+', path.split(os.sep)[-3])[:3])
    found = {}
    for path in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python3')), key=version):
        major, minor = version(path)[:2]
        if (major, minor) >= (3, 9):
            found[f'{major}.{minor}'] = path  # sorted, so the newest patch release wins
    for minor in WANTED:
        path = shutil.which(f'python{minor}')
        if minor not in found and path and '.pyenv' not in path:  # pyenv's shims may not run
            found[minor] = path
    labels = WANTED + sorted(set(found) - set(WANTED), key=lambda v: tuple(map(int, v.split('.'))))
    return [(f'cpython {minor}', found.get(minor)) for minor in labels] + [('pypy3', shutil.which('pypy3'))]


if __name__ == '__main__' and sys.argv[1:] == ['pythons']:  # for .ci/run: one "label<TAB>path" a line
    for label, path in pythons():
        print(f'{label}\t{path or "-"}')
