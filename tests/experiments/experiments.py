"""Run the experiments README.md's table shows, each to the end on the shipped input.txt, on a copy of
microgpt.py (your own file is never changed): a setting changed, or a diff from tests/experiments/
applied. Each is measured as the table shows it: the mean loss of the last 100 steps (the file's own
summary line), the run's wall time, and its first samples. Prints the Markdown table (and, to stderr,
the lines a diff adds to the output, such as the gradient log's). Run them all, and it also draws
each experiment's loss curve beside the as-shipped one in tests/experiments/out/loss_curves.svg (git
ignores that folder); --remake writes tests/experiments/loss_curves.svg, the one README.md shows.

    python tests/experiments/experiments.py                   # all of them, one after another (about 15 minutes)
    python tests/experiments/experiments.py relu temperature  # only these (a name, or the start of several)
    python tests/experiments/experiments.py --list            # their names
    python tests/experiments/experiments.py --source final_revision > final.py   # an experiment's microgpt.py

Standard library only. Not a test: unittest does not collect it. Progress goes to stderr.
"""
import math, os, platform, re, signal, subprocess, sys, tempfile, time
from html import escape

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/, for harness
import harness
from harness import cpu, seconds

# Python's own function names, one per line: the "another dataset" experiment. The README gives the
# same code as a command: python3 -c "<this>" > functions.txt
FUNCTIONS = ("import builtins, itertools, math, os, random, re, string, time; print('\\n'.join(sorted({n "
             "for m in (builtins, itertools, math, os, os.path, random, re, string, time) for n in dir(m) "
             "if n.islower() and n[0] != '_'})))")

# (name, the change as README.md shows it, settings {name: code}, the diff in tests/experiments/ or None)
EXPERIMENTS = [
    ('shipped', 'as shipped', {}, None),
    ('temperature_0.2', '`temperature = 0.2`', {'temperature': '0.2'}, None),
    ('temperature_1.0', '`temperature = 1.0`', {'temperature': '1.0'}, None),
    ('temperature_1.5', '`temperature = 1.5`', {'temperature': '1.5'}, None),
    ('num_steps_2000', '`num_steps = 2000`', {'num_steps': '2000'}, None),
    ('n_layer_2', '`n_layer = 2` (deeper)', {'n_layer': '2'}, None),
    ('n_embd_32', '`n_embd = 32` (wider)', {'n_embd': '32'}, None),
    ('n_head_1', '`n_head = 1` (one head, 16 wide)', {'n_head': '1'}, None),
    ('n_head_2', '`n_head = 2`', {'n_head': '2'}, None),
    ('n_head_8', '`n_head = 8` (each 2 wide)', {'n_head': '8'}, None),
    ('functions', "`input_path = 'functions.txt'` (Python's function names)", {'input_path': "'functions.txt'"}, None),
    ('relu', '`relu.diff`: ReLU, not ReLU²', {}, 'relu'),
    ('layernorm', "`layernorm.diff`: GPT-2's LayerNorm for RMSNorm", {}, 'layernorm'),
    ('dropout', '`dropout.diff`: dropout 0.1 in training', {}, 'dropout'),
    ('held_out', '`held_out.diff`: loss on 100 names never trained on', {}, 'held_out'),
    ('lr_constant', "`lr_schedule.diff`: `lr_schedule = 'constant'`", {'lr_schedule': "'constant'"}, 'lr_schedule'),
    ('lr_linear', "`lr_schedule.diff`: `lr_schedule = 'linear'`", {'lr_schedule': "'linear'"}, 'lr_schedule'),
    ('lr_warmup_cosine', "`lr_schedule.diff`: `warmup_steps = 50`, cosine", {'lr_schedule': "'cosine'", 'warmup_steps': '50'},
     'lr_schedule'),
    ('lr_warmup_linear', "`lr_schedule.diff`: `warmup_steps = 50`, linear", {'lr_schedule': "'linear'", 'warmup_steps': '50'},
     'lr_schedule'),
    ('prompt', "`prompt.diff`: `prompt = 'ma'`", {}, 'prompt'),
    ('gradient_log', '`gradient_log.diff`: how each matrix learns', {}, 'gradient_log'),
    ('save_and_load', '`save_and_load.diff`: saves `model.json`', {}, 'save_and_load'),
    ('final_revision', "`final_revision.diff`: the reference's final revision", {}, 'final_revision'),
]
NAMES = [e[0] for e in EXPERIMENTS]
HERE = os.path.dirname(os.path.abspath(__file__))
CURVES = os.path.join(HERE, 'loss_curves.svg')  # README.md shows it; remade only with --remake
SUMMARY = re.compile(r'^mean loss of the last \d+ steps: (\d+\.\d{4})', re.M)


def choose(words):
    """The experiments the words name: each word is a name, or the start of one or more names."""
    chosen = []
    for word in words:
        found = [e for e in EXPERIMENTS if e[0] == word] or [e for e in EXPERIMENTS if e[0].startswith(word)]
        if not found:
            sys.exit(f'experiments: no experiment is called {word!r}; the names are: {", ".join(NAMES)}')
        chosen += [e for e in found if e not in chosen]
    return chosen


def text_of(settings, diff):
    """microgpt.py's text with the diff applied (if any) and the settings set; one line, exit 1, if
    the diff does not apply to your microgpt.py."""
    try:
        return harness.source(experiment=diff, codes=settings)
    except ValueError as e:
        sys.exit(f'experiments: {e}')


def edited_settings():
    """The Settings lines of your microgpt.py that are not the committed file's, as git has it; None
    when git cannot say (no git, or not a clone)."""
    try:
        p = subprocess.run(['git', 'show', 'HEAD:microgpt.py'], cwd=harness.ROOT, capture_output=True, text=True)
    except OSError:
        return None
    if p.returncode != 0:
        return None
    mine, shipped = (dict(harness.cells(text)).get('Settings', '').splitlines() for text in (harness.source(), p.stdout))
    return [line.split('#')[0].strip() for line in mine if line not in shipped and '=' in line.split('#')[0]]


def stop(signum, frame):  # SIGTERM or SIGHUP: end as Ctrl-C does, so that the temporary folder goes too
    sys.exit(f'experiments: stopped by signal {signum}')


def run(settings, diff, samples=5):
    """(mean loss of the last 100 steps, wall seconds, the first samples, every step's loss, the
    vocabulary size, the lines the diff adds to the output) of one whole run."""
    text = text_of(settings, diff)
    with tempfile.TemporaryDirectory(prefix='microgpt-experiment-') as d:
        harness.prepare(d, text=text, shipped_data=True)
        with open(os.path.join(d, 'functions.txt'), 'w', encoding='utf-8') as f:
            subprocess.run([sys.executable, '-c', FUNCTIONS], stdout=f, check=True)
        started = time.perf_counter()
        p = harness.execute(d, timeout=3600)
        wall = time.perf_counter() - started
    if p.returncode != 0:
        sys.exit(f'experiments: microgpt.py failed:\n{p.stderr}')
    stdout = p.stdout.replace('\r', '\n')  # the final revision prints each step line over the last
    vocab = int(re.search(r'^vocab size: (\d+)$', stdout, re.M).group(1))
    extra = [line for line in stdout.splitlines() if line.startswith('  ') or line.startswith('saved ')]
    return (float(SUMMARY.search(stdout).group(1)), wall, harness.samples(stdout)[:samples],
            harness.losses(stdout), vocab, extra)


COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf']


def svg(shipped, curves, title, window=50):
    """Small multiples, standard library only: a panel per experiment in `curves` ([(label, losses,
    vocabulary size)]), its curve in colour over the as-shipped one in grey (`shipped`: (losses,
    vocabulary size)), each the moving average of `window` steps, and a dashed line at the uniform
    guess, log(vocab). Every panel has the same loss axis, and an axis of steps that fits its run.
    Dark ink on a white card, so that it reads the same in light and dark themes."""
    smooth = lambda ls: [sum(ls[i - window:i]) / window for i in range(window, len(ls) + 1)]
    ys = [y for _, ls, _ in curves + [('', *shipped)] for y in smooth(ls)]
    ys += [math.log(v) for _, _, v in curves + [('', *shipped)]]
    y_lo, y_hi = math.floor(min(ys) * 4) / 4, math.ceil(max(ys) * 4) / 4
    columns, pw, ph, gap, left, top = 4, 215, 170, 28, 50, 50
    rows = (len(curves) + columns - 1) // columns
    width, height = left + columns * (pw + gap), top + rows * (ph + 2 * gap) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="#ffffff" rx="6"/>',
           f'<text x="{left}" y="22" font-size="15" fill="#222">{escape(title)}</text>',
           f'<text x="{left}" y="40" fill="#444">each panel: that experiment (colour) over the as-shipped '
           f'run (grey), a {window}-step mean of each step\'s loss; dashed: a uniform guess</text>']
    for i, (label, losses, vocab) in enumerate(curves):
        x0, y0 = left + (i % columns) * (pw + gap), top + (i // columns) * (ph + 2 * gap) + gap
        steps = max(len(losses), len(shipped[0]))
        X = lambda step: x0 + pw * step / steps
        Y = lambda loss: y0 + ph * (y_hi - loss) / (y_hi - y_lo)
        out.append(f'<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#ccc"/>')
        out.append(f'<text x="{x0}" y="{y0 - 6}" font-size="12" fill="#222">{escape(label)}</text>')
        y = y_lo
        while y <= y_hi + 1e-9:
            out.append(f'<line x1="{x0}" y1="{Y(y):.1f}" x2="{x0 + pw}" y2="{Y(y):.1f}" stroke="#eee"/>')
            if i % columns == 0:
                out.append(f'<text x="{x0 - 5}" y="{Y(y) + 4:.1f}" text-anchor="end" fill="#444">{y:.2f}</text>')
            y += 0.25
        for step in (0, steps // 2, steps):
            anchor = 'start' if step == 0 else 'end' if step == steps else 'middle'
            out.append(f'<text x="{X(step):.1f}" y="{y0 + ph + 13}" text-anchor="{anchor}" fill="#444">'
                       f'{"step " if step == steps else ""}{step}</text>')
        for v, colour in sorted({(vocab, '#444'), (shipped[1], '#999')}):
            out.append(f'<line x1="{x0}" y1="{Y(math.log(v)):.1f}" x2="{x0 + pw}" y2="{Y(math.log(v)):.1f}" '
                       f'stroke="{colour}" stroke-dasharray="5 4"/>')
        for ls, colour, w in ((shipped[0], '#aaaaaa', 1.6), (losses, COLOURS[i % len(COLOURS)], 1.8)):
            points = ' '.join(f'{X(window + k):.1f},{Y(y):.1f}' for k, y in enumerate(smooth(ls)))
            out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="{w}"/>')
    return '\n'.join(out + ['</svg>']) + '\n'


def panel_label(change, settings):
    """A panel's title: the change as the table shows it, to its colon or bracket; for a diff run with
    settings of its own (the schedules), those settings, which tell its panels apart."""
    text = change.replace('`', '')
    if ': ' in text and settings and text.split(': ')[0].endswith('.diff'):
        return text.split(': ', 1)[1]
    return re.split(r':| \(', text)[0]


def main():
    args = sys.argv[1:]
    if args[:1] in (['-h'], ['--help']):
        print(__doc__.strip() + '\n\nThe experiments: ' + ', '.join(NAMES))
        return
    if args[:1] == ['--functions']:  # the dataset of the functions row: python ... --functions > functions.txt
        exec(FUNCTIONS, {})  # the same code the functions row's run makes its file with
        return
    if args[:1] == ['--list']:
        for name, change, _, _ in EXPERIMENTS:
            print(f'{name:16} {change}')
        return
    if args[:1] == ['--source']:
        chosen = choose(args[1:])
        if len(chosen) != 1:
            sys.exit(f'experiments: --source takes the name of one experiment, not {len(chosen)}')
        print(text_of(*chosen[0][2:]), end='')
        return
    remake = '--remake' in args
    args = [a for a in args if a != '--remake']
    for a in args:
        if a.startswith('-'):
            sys.exit(f'experiments: no option {a}; --help says what it takes')
    chosen = choose(args) if args else EXPERIMENTS
    for signum in (signal.SIGTERM, getattr(signal, 'SIGHUP', None)):
        if signum is not None:
            signal.signal(signum, stop)
    edits = edited_settings()
    if edits is None:
        base = 'your microgpt.py (git cannot say whether you changed it)'
    elif edits:
        base = f'your microgpt.py, with {"; ".join(edits)} (not as shipped)'
    else:
        base = 'microgpt.py as shipped'
    if remake and edits != []:
        sys.exit('experiments: --remake is for microgpt.py as shipped; undo your edits first')
    print(f'{time.strftime("%Y-%m-%d")}, {cpu()}, {os.cpu_count()} cores, '
          f'{platform.python_implementation()} {platform.python_version()}, one run at a time, on {base}\n')
    print('| change (the rest as shipped) | mean loss, last 100 steps | run time | first samples |')
    print('| --- | --- | --- | --- |', flush=True)
    results = {}
    for name, change, settings, diff in chosen:
        print(f'experiments: {name}...', file=sys.stderr, flush=True)
        if name == 'shipped' and edits:
            change = 'your microgpt.py'
        results[name] = loss, wall, names, losses, vocab, extra = run(settings, diff)
        print(f'| {change} | {loss:.4f} | {seconds(wall)} | {", ".join(names)} |', flush=True)
        if extra:  # README.md quotes them: to stderr, so that stdout stays the table
            print('\n'.join(extra), file=sys.stderr, flush=True)
    if args:
        print('experiments: only some of them ran, so loss_curves.svg is left as it was', file=sys.stderr)
        return
    shipped = results['shipped'][3], results['shipped'][4]
    curves = [(panel_label(change, settings), results[name][3], results[name][4])
              for name, change, settings, _ in EXPERIMENTS if results[name][3] != shipped[0]]  # trains differently
    curves_path = CURVES if remake else os.path.join(HERE, 'out', 'loss_curves.svg')
    os.makedirs(os.path.dirname(curves_path), exist_ok=True)
    with open(curves_path, 'w', encoding='utf-8') as f:
        f.write(svg(shipped, curves, f'How each experiment changes training, on input.txt '
                                     f'({time.strftime("%Y-%m-%d")})'))
    print(f'experiments: wrote {curves_path}', file=sys.stderr)


if __name__ == '__main__':
    main()
