"""How the tests reach the real microgpt.py without running its 500 steps (program.py, which the
tools share, makes its text): load() runs its cells through the one named, in-process, and returns
their namespace; run() runs it as a program in a folder of its own. Each takes experiment='NAME':
microgpt.py with tests/experiments/NAME.diff applied with git apply, as a learner applies it."""
import contextlib, gc, io, os, pathlib, random, re, shutil, signal, subprocess, sys, tempfile
import warnings

from program import (EXPERIMENTS, NUMPY_SCRIPT, ROOT, SCRIPT, TORCH_SCRIPT, cells, experiment_names,
                     git_apply, gradient_logs, losses, patched, read, run_cells, samples,
                     source)

# A small dataset: quick to train on, with names longer and shorter than block_size (8).
SMALL_NAMES = ['emma', 'olivia', 'ava', 'mia', 'amelia', 'ella', 'liam', 'noah', 'oliver', 'elijah',
               'james', 'william', 'benjamin', 'lucas', 'henry', 'alexander', 'mason', 'michael',
               'ethan', 'daniel', 'jacob', 'logan', 'jackson', 'levi', 'sebastian', 'mateo', 'jack',
               'owen', 'theodore', 'aiden', 'samuel', 'joseph', 'john', 'david', 'wyatt', 'matthew',
               'luke', 'asher', 'carter', 'julian', 'grayson', 'leo', 'jayden', 'gabriel', 'isaac']
# Names of 14 to 22 letters, longer than any block_size tried: every position used, every graph big
LONG_NAMES = [''.join(chr(97 + (i * 5 + j * 7) % 26) for j in range(14 + i % 9)) for i in range(30)]

@contextlib.contextmanager
def folder(data=None):
    """A new folder, made the current one, holding input.txt with these names (SMALL_NAMES): where
    a script reads its input.txt, as `python microgpt.py` does."""
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix='microgpt-test-') as d, warnings.catch_warnings():
        warnings.simplefilter('ignore', ResourceWarning)  # the lessons' open() left to close
        with open(os.path.join(d, 'input.txt'), 'w', encoding='utf-8') as f:
            f.write('\n'.join(SMALL_NAMES if data is None else data) + '\n')
        os.chdir(d)
        try:
            yield d
        finally:
            os.chdir(here)

def load(upto, data=None, script=SCRIPT, experiment=None, ns=None, start=None, **settings):
    """A namespace (a fresh one unless ns) with the script's cells run in it, from the one titled
    `start`, through `upto`, in a folder() holding `data`; what they printed is ns['_stdout']."""
    ns = {'__name__': 'microgpt'} if ns is None else ns
    with folder(data):
        try:
            run_code(source(script, experiment, **settings), ns, script, start, upto)
        finally:
            gc.enable()  # paused from Training to the end of Inference: on for the other tests
    return ns

def run_cell(ns, title, experiment=None):
    """Run microgpt.py's cell `title` (or an experiment's) in ns, after load(), as a notebook runs
    it; return what it printed, kept as ns['_stdout'] even when the cell raises."""
    return run_code(source(experiment=experiment), ns, start=title, upto=title)

def run_code(text, ns, script=SCRIPT, start=None, upto=None):
    """program.run_cells, from the cell `start` through `upto`, what they print kept."""
    with contextlib.redirect_stdout(io.StringIO()) as out, warnings.catch_warnings():
        warnings.simplefilter('ignore', ResourceWarning)  # the reference's open() left to close
        try:
            for title in run_cells(text, ns, script, start):
                if title == upto:
                    break
            else:
                raise ValueError(f'no cell titled {upto!r}')
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

def tool(path, *args, root=ROOT):  # a tool run as a learner runs it: python tests/.../tool.py
    return subprocess.run([sys.executable, os.path.join(root, path), *args], capture_output=True,
                          text=True)

def files(d, but=()):
    """Each name in folder d but those in `but`: a file's bytes, a link's target, a folder's
    names: to show a run made or changed none."""
    see = lambda p: (os.readlink(p) if os.path.islink(p) else sorted(os.listdir(p))
                     if os.path.isdir(p) else pathlib.Path(p).read_bytes())
    return {n: see(os.path.join(d, n)) for n in set(os.listdir(d)) - set(but)}

def interrupted(folder, script='microgpt.py', at='step    5 /'):
    """Run the script in folder and press Ctrl-C, a real SIGINT as a terminal sends it, once it
    prints a line starting `at`: (its exit code, all it printed, its stderr)."""
    tty = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # as a terminal has it
    child = subprocess.Popen([sys.executable, '-u', script], cwd=folder, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=tty)
    lines = []
    for line in child.stdout:
        lines.append(line)
        if line.startswith(at):
            child.send_signal(signal.SIGINT)
            break
    rest, err = child.communicate(timeout=900)  # ignored, it trains every step
    return child.returncode, ''.join(lines) + rest, err

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

SUMMARY = re.compile(r'^mean loss of the last (\d+) steps: (\d+\.\d{4}) '
                     r'\(a uniform guess over (\d+) tokens: (\d+\.\d{4})\)$', re.M)
