"""How the tests reach the real microgpt.py without running its 500 steps. source() is its text with
settings changed (each is a `name = value` line at the left margin; Adam's four share one line);
cells() splits it at its `# %%` lines, as a notebook does; load() runs its cells through the one
named, in-process, and returns their namespace; run() runs it as a program in a folder of its own.
Each takes experiment='NAME': microgpt.py with tests/experiments/NAME.diff applied by patched(),
with git apply, as a learner applies it."""
import contextlib, gc, io, math, os, platform, random, re, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'microgpt.py')
TORCH_SCRIPT = os.path.join(ROOT, 'tests', 'twins', 'microgpt_torch.py')
EXPERIMENTS = os.path.join(ROOT, 'tests', 'experiments')
# A small dataset: quick to train on, with names longer and shorter than block_size (8).
SMALL_NAMES = ['emma', 'olivia', 'ava', 'mia', 'amelia', 'ella', 'liam', 'noah', 'oliver', 'elijah',
               'james', 'william', 'benjamin', 'lucas', 'henry', 'alexander', 'mason', 'michael',
               'ethan', 'daniel', 'jacob', 'logan', 'jackson', 'levi', 'sebastian', 'mateo', 'jack',
               'owen', 'theodore', 'aiden', 'samuel', 'joseph', 'john', 'david', 'wyatt', 'matthew',
               'luke', 'asher', 'carter', 'julian', 'grayson', 'leo', 'jayden', 'gabriel', 'isaac']

@contextlib.contextmanager
def paused_gc():
    """The cycle collector paused around heavy graph work, as microgpt.py pauses it in training."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()

def experiment_names():
    return sorted(name[:-5] for name in os.listdir(EXPERIMENTS) if name.endswith('.diff'))

def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()

def git_apply(diff, text, reverse=False):
    """text, as microgpt.py, with the diff file applied (or undone) by `git apply`, as a learner
    runs it, in a folder of its own; ValueError with git's reason if it does not apply."""
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

def source(script=SCRIPT, experiment=None, codes=None, **settings):
    """The script's text (microgpt.py's, or with an experiment applied) with settings set to new
    values: repr'd from **settings (nan and inf spelt out), or as Python source in `codes`."""
    spelt = lambda v: f"float('{v}')" if isinstance(v, float) and not math.isfinite(v) else repr(v)
    codes = dict(codes or {}, **{name: spelt(v) for name, v in settings.items()})
    text = patched(experiment) if experiment else read(script)
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

def load(upto, data=None, script=SCRIPT, experiment=None, **settings):
    """A fresh namespace with the script's cells run in it through the one titled `upto`, on `data`
    (lines; SMALL_NAMES unless input_path is set); what they printed is ns['_stdout']."""
    with tempfile.TemporaryDirectory(prefix='microgpt-test-') as folder:
        if 'input_path' not in settings:  # only the Data cell reads it: the folder can go after
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
        ns = {'__name__': 'microgpt'}
        run_code(''.join(chosen), ns, script)
    return ns

def run_cell(ns, title, experiment=None):
    """Run microgpt.py's cell `title` (or an experiment's) in ns, after load(), as a notebook runs
    it; return what it printed, kept as ns['_stdout'] even when the cell raises."""
    return run_code(dict(cells(source(experiment=experiment)))[title], ns)

def run_code(code, ns, script=SCRIPT):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            exec(compile(code, script, 'exec'), ns)
        finally:
            ns['_stdout'] = out.getvalue()
    return ns['_stdout']

def prepare(folder, data=None, raw=None, script=SCRIPT, experiment=None, text=None,
            shipped_data=False, **settings):
    """Write the script into `folder` (under its own name; as microgpt.py for an experiment or
    `text`), and input.txt from `data` (lines), `raw` (bytes), or a copy of the shipped one."""
    name = 'microgpt.py' if text is not None else os.path.basename(script)
    with open(os.path.join(folder, name), 'w', encoding='utf-8') as f:
        f.write(source(script, experiment, **settings) if text is None else text)
    if shipped_data:
        shutil.copy(os.path.join(ROOT, 'input.txt'), os.path.join(folder, 'input.txt'))
    raw = ('\n'.join(data) + '\n').encode('utf-8') if data is not None else raw
    if raw is not None:
        with open(os.path.join(folder, 'input.txt'), 'wb') as f:
            f.write(raw)

def execute(folder, script='microgpt.py', python=None, timeout=600, flags=(), env=None):
    return subprocess.run([python or sys.executable, *flags, script], cwd=folder, env=env,
                          capture_output=True, text=True, encoding='utf-8', timeout=timeout)

def run(folder=None, data=None, raw=None, python=None, script=SCRIPT, experiment=None, **settings):
    """prepare(), then execute(): the CompletedProcess of the script run as a program in `folder`
    (with no folder, in a new one of its own that goes after)."""
    if folder is None:
        with tempfile.TemporaryDirectory(prefix='microgpt-test-') as folder:
            return run(folder, data, raw, python, script, experiment, **settings)
    prepare(folder, data, raw, script, experiment, **settings)
    return execute(folder, script=os.path.basename(script), python=python)

def doc_loss(ns, doc):
    """(loss, each position's logits, the tokens) for one document, as Training makes them."""
    tokens = [ns['BOS']] + [ns['uchars'].index(ch) for ch in doc] + [ns['BOS']]
    n = min(ns['block_size'], len(tokens) - 1)
    keys, values = [[] for _ in range(ns['n_layer'])], [[] for _ in range(ns['n_layer'])]
    all_logits, losses = [], []
    for pos_id in range(n):
        logits = ns['gpt'](tokens[pos_id], pos_id, keys, values)
        all_logits.append([l.data for l in logits])
        losses.append(-ns['softmax'](logits)[tokens[pos_id + 1]].log())
    return (1 / n) * sum(losses), all_logits, tokens[:n + 1]

def greedy(ns, prompt=''):
    """The name the trained model in ns makes from BOS (and the prompt) taking its likeliest next
    character each time: what sampling at a temperature near 0 must draw."""
    keys, values = [[] for _ in range(ns['n_layer'])], [[] for _ in range(ns['n_layer'])]
    tokens, name = [ns['BOS']] + [ns['uchars'].index(ch) for ch in prompt], prompt
    for pos_id in range(ns['block_size']):
        logits = [l.data for l in ns['gpt'](tokens[pos_id], pos_id, keys, values)]
        if pos_id >= len(prompt):
            best = logits.index(max(logits))
            if best == ns['BOS']:
                break
            tokens.append(best)
            name += ns['uchars'][best]
    return name

def randomize(ns, seed=0):
    """Every weight random and not zero: attn_wo and mlp_fc2 start at zero, which would leave
    attention's gradients exactly zero and a comparison of gradients toothless."""
    rng = random.Random(seed)
    for p in ns['params']:
        p.data = rng.gauss(0, 0.3)

def finite_difference(ns, doc, p, h=1e-6):
    """d(loss)/d(p) for one document by central differences; p's value put back."""
    old, p.data = p.data, p.data + h
    up = doc_loss(ns, doc)[0].data
    p.data = old - h
    down = doc_loss(ns, doc)[0].data
    p.data = old
    return (up - down) / (2 * h)

SUMMARY = re.compile(r'^mean loss of the last (\d+) steps: (\d+\.\d{4}) '
                     r'\(a uniform guess over (\d+) tokens: (\d+\.\d{4})\)$', re.M)

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

def seconds(s):  # for the tools' tables
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
