"""Run the experiments whose table tests/experiments/README.md shows, each to the end on the shipped
input.txt, on a copy of microgpt.py (your own file is never changed): a setting changed, or a diff
from tests/experiments/ applied. Each is measured as the table shows it: the mean loss of the last
100 steps (the file's own summary line), the run's wall time, and its first samples. Prints the
Markdown table (and, to stderr, the lines a diff adds to the output, such as the gradient log's).
When the as-shipped run is among those run, it also draws each other one's loss curve over it, in
tests/experiments/out/loss_curves.svg (git ignores that folder); --remake runs them all and writes
tests/experiments/loss_curves.svg, the picture the experiments' page shows.

    python tests/experiments/experiments.py                  # all 23, one whole run after another
    python tests/experiments/experiments.py shipped relu     # only these (names, or their starts)
    python tests/experiments/experiments.py --list           # their names
    python tests/experiments/experiments.py --source relu > relu.py   # an experiment's microgpt.py

Before any run, it checks that every diff asked for applies to your microgpt.py. For maintainers,
after a change to microgpt.py that leaves the experiments' own lines alone:

    python tests/experiments/experiments.py --re-port        # rewrites each NAME.diff to fit it

Standard library and `diff`, and tests/program.py (microgpt.py as text), not the tests' harness.
Not a test: unittest does not collect it. Progress goes to stderr.
"""
import argparse, math, os, platform, re, shutil, signal, subprocess, sys, tempfile, time
from html import escape

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # for program
import program  # microgpt.py as text, an experiment applied, its settings set
from program import cpu, seconds

# Python's own function names, one per line: the "another dataset" experiment, as the command
# python tests/experiments/experiments.py --functions > functions.txt makes them.
FUNCTIONS = ("import builtins, itertools, math, os, random, re, string, time; print('\\n'.join("
             "sorted({n for m in (builtins, itertools, math, os, os.path, random, re, string, "
             "time) for n in dir(m) if n.islower() and n[0] != '_'})))")

# (name, the change as the table shows it, settings {name: code}, the diff in this folder or None)
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
    ('functions', "`input_path = 'functions.txt'` (Python's function names)",
     {'input_path': "'functions.txt'"}, None),
    ('relu', '`relu.diff`: ReLU, not ReLU²', {}, 'relu'),
    ('layernorm', "`layernorm.diff`: GPT-2's LayerNorm for RMSNorm", {}, 'layernorm'),
    ('dropout', '`dropout.diff`: dropout 0.1 in training', {}, 'dropout'),
    ('held_out', '`held_out.diff`: loss on 100 names never trained on', {}, 'held_out'),
    ('lr_constant', "`lr_schedule.diff`: `lr_schedule = 'constant'`",
     {'lr_schedule': "'constant'"}, 'lr_schedule'),
    ('lr_linear', "`lr_schedule.diff`: `lr_schedule = 'linear'`",
     {'lr_schedule': "'linear'"}, 'lr_schedule'),
    ('lr_warmup_cosine', "`lr_schedule.diff`: `warmup_steps = 50`, cosine",
     {'lr_schedule': "'cosine'", 'warmup_steps': '50'}, 'lr_schedule'),
    ('lr_warmup_linear', "`lr_schedule.diff`: `warmup_steps = 50`, linear",
     {'lr_schedule': "'linear'", 'warmup_steps': '50'}, 'lr_schedule'),
    ('prompt', "`prompt.diff`: `prompt = 'ma'`", {}, 'prompt'),
    ('gradient_log', '`gradient_log.diff`: how each matrix learns', {}, 'gradient_log'),
    ('save_and_load', '`save_and_load.diff`: saves `model.json`', {}, 'save_and_load'),
    ('final_revision', "`final_revision.diff`: the reference's final revision", {},
     'final_revision'),
]
NAMES = [e[0] for e in EXPERIMENTS]
HERE = os.path.dirname(os.path.abspath(__file__))
CURVES = os.path.join(HERE, 'loss_curves.svg')  # README.md shows it; remade only with --remake
SUMMARY = re.compile(r'^mean loss of the last \d+ steps: (\d+\.\d{4})', re.M)


def choose(words):
    """The experiments the words name: each word is a name, or the start of one or more names."""
    chosen = []
    for word in words:
        found = ([e for e in EXPERIMENTS if e[0] == word]
                 or [e for e in EXPERIMENTS if e[0].startswith(word)])
        if not found:
            sys.exit(f'experiments: no experiment is called {word!r}; '
                     f'the names are: {", ".join(NAMES)}')
        chosen += [e for e in found if e not in chosen]
    return chosen


def text_of(settings, diff):
    """microgpt.py's text with the diff applied (if any) and the settings set; one line, exit 1, if
    the diff does not apply to your microgpt.py."""
    try:
        return program.source(experiment=diff, codes=settings)
    except ValueError as e:
        sys.exit(f'experiments: {e}')


def texts_of(chosen):
    """{name: its text} for the chosen experiments; before any run, one line, exit 1, naming each
    diff that does not apply to your microgpt.py, so that no run is spent before it is found."""
    texts, failed = {}, {}
    for name, _, settings, diff in chosen:
        try:
            texts[name] = program.source(experiment=diff, codes=settings)
        except ValueError as e:
            found = re.match(r'(\S+\.diff) does not apply to this microgpt.py: (.*)', str(e))
            failed[found.expand(r'\1 (\2)') if found else str(e)] = True
    if failed:
        sys.exit(f'experiments: {", ".join(failed)}: not applied to your microgpt.py: put back the '
                 'lines you changed there, or undo a diff you applied (git diff microgpt.py shows '
                 'them); or fit every diff to your file with --re-port')
    return texts


MARK = '\n--- a/microgpt.py\n+++ b/microgpt.py\n'  # between a diff's header and its hunks


def port(text, hunks):
    """text with the diff's hunks applied, each found by its lines after the last one: the whole
    hunk, or else without its first or its last line of context (a line beside it changed), each
    only where it is found once; None if a hunk is not."""
    lines, out, at = text.splitlines(True), [], 0
    for hunk in re.split(r'(?m)^@@ .*\n', hunks)[1:]:
        rows = hunk.splitlines(True)
        old, new = ([r[1:] for r in rows if r[0] in ' ' + sign] for sign in '-+')
        lead, trail = rows[0][0] == ' ', rows[-1][0] == ' '
        for a, b in ((0, 0), (lead, 0), (0, trail)):
            want = old[a:len(old) - b]
            spots = [i for i in range(at, len(lines) - len(want) + 1)
                     if lines[i:i + len(want)] == want]
            if want and len(spots) == 1:
                out += lines[at:spots[0]] + new[a:len(new) - b]
                at = spots[0] + len(want)
                break
        else:
            return None
    return ''.join(out + lines[at:])


def re_port(text, into=HERE):
    """Each diff here made again against `text` (a new microgpt.py) into the folder `into`, its
    header kept: its changes found as port() finds them, the diff made by `diff -U1` as each was
    made. Prints each diff's fate; returns the names of those that need a person."""
    people = []
    with tempfile.TemporaryDirectory(prefix='microgpt-re-port-') as d:
        for name in program.experiment_names():
            head, hunks = program.read(os.path.join(HERE, name + '.diff')).split(MARK)
            ported = port(text, MARK + hunks)
            if ported is None:
                people.append(name)
                print(f'{name}.diff needs a person: a line it changes, or both beside one, changed',
                      file=sys.stderr)
                continue
            for file, t in (('a', text), ('b', ported)):
                with open(os.path.join(d, file), 'w', encoding='utf-8', newline='') as f:
                    f.write(t)
            made = subprocess.run(['diff', '-U1', '--label', 'a/microgpt.py', '--label',
                                   'b/microgpt.py', 'a', 'b'], cwd=d, capture_output=True,
                                  text=True, encoding='utf-8').stdout
            with open(os.path.join(into, name + '.diff'), 'w', encoding='utf-8', newline='') as f:
                f.write(head + '\n' + made)
            same = made == MARK[1:] + hunks
            print(f'{name}.diff {"as it was" if same else "re-ported"}', file=sys.stderr)
    return people


def edited_settings():
    """The Settings lines of your microgpt.py that are not the committed file's, as git has it; None
    when git cannot say (no git, or not a clone)."""
    try:
        p = subprocess.run(['git', 'show', 'HEAD:microgpt.py'], cwd=program.ROOT,
                           capture_output=True, text=True)
    except OSError:
        return None
    if p.returncode != 0:
        return None
    mine, shipped = (dict(program.cells(text)).get('Settings', '').splitlines()
                     for text in (program.source(), p.stdout))
    return [line.split('#')[0].strip() for line in mine
            if line not in shipped and '=' in line.split('#')[0]]


def stop(signum, frame):  # SIGTERM or SIGHUP: end as Ctrl-C does, so the temporary folder goes too
    sys.exit(f'experiments: stopped by signal {signum}')


def run(text, samples=5):
    """(mean loss of the last 100 steps, wall seconds, the first samples, every step's loss, the
    vocabulary size, the lines the diff adds to the output) of one whole run of the text."""
    with tempfile.TemporaryDirectory(prefix='microgpt-experiment-') as d:
        with open(os.path.join(d, 'microgpt.py'), 'w', encoding='utf-8') as f:
            f.write(text)
        shutil.copy(os.path.join(program.ROOT, 'input.txt'), os.path.join(d, 'input.txt'))
        with open(os.path.join(d, 'functions.txt'), 'w', encoding='utf-8') as f:
            subprocess.run([sys.executable, '-c', FUNCTIONS], stdout=f, check=True)
        started = time.perf_counter()
        p = subprocess.run([sys.executable, 'microgpt.py'], cwd=d, capture_output=True, text=True,
                           encoding='utf-8', timeout=3600)
        wall = time.perf_counter() - started
    if p.returncode != 0:
        sys.exit(f'experiments: microgpt.py failed:\n{p.stderr}')
    stdout = p.stdout.replace('\r', '\n')  # the final revision prints each step line over the last
    vocab = int(re.search(r'^vocab size: (\d+)$', stdout, re.M).group(1))
    extra = [line for line in stdout.splitlines() if line.startswith(('  ', 'saved '))]
    return (float(SUMMARY.search(stdout).group(1)), wall, program.samples(stdout)[:samples],
            program.losses(stdout), vocab, extra)


COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf']
GREY = '#c4c4c4'  # the as-shipped run: a wide band under each experiment's line, so both show


def svg(shipped, curves, title, window=50):
    """Small multiples, standard library only: a panel per experiment in `curves` ([(label, losses,
    vocabulary size)]), its line in colour on top of the as-shipped run's wide grey band (`shipped`:
    (losses, vocabulary size)), each the moving average of `window` steps, and a dashed line, named,
    at each run's uniform guess, log(vocabulary). Every panel has the same loss axis, and an axis of
    steps that fits its run. Dark ink on a white card: it reads the same in light and dark themes.
    """
    smooth = lambda ls: [sum(ls[i - window:i]) / window for i in range(window, len(ls) + 1)]
    runs = curves + [('', *shipped)]
    ys = [y for _, ls, _ in runs for y in smooth(ls)] + [math.log(v) for _, _, v in runs]
    y_lo, y_hi = math.floor(min(ys) * 4) / 4, math.ceil((max(ys) + 0.08) * 4) / 4
    columns, pw, ph, gap, left, top = 4, 215, 170, 28, 66, 74
    rows = (len(curves) + columns - 1) // columns
    width, height = left + columns * (pw + gap), top + rows * (ph + 2 * gap) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="#ffffff" rx="6"/>',
           f'<text x="{left}" y="22" font-size="15" fill="#222">{escape(title)}</text>']
    legend = [(GREY, 6, '', 'as shipped'),
              (COLOURS[0], 1.6, '', 'the experiment named over its panel'),
              ('#555', 1.2, ' stroke-dasharray="5 4"', 'a uniform guess, log(tokens): the loss '
                                                       'of a model that learned nothing')]
    x = left
    for colour, w, dash, words in legend:
        out.append(f'<line x1="{x}" y1="39" x2="{x + 26}" y2="39" stroke="{colour}" '
                   f'stroke-width="{w}"{dash}/>')
        out.append(f'<text x="{x + 32}" y="43" fill="#444">{escape(words)}</text>')
        x += 44 + 6.2 * len(words)
    out.append(f'<text x="{left}" y="60" fill="#444">each line: the mean of {window} steps\' loss, '
               f'from step {window}; a coloured dashed line: that experiment\'s own vocabulary'
               '</text>')
    for i, (label, losses, vocab) in enumerate(curves):
        x0, y0 = left + (i % columns) * (pw + gap), top + (i // columns) * (ph + 2 * gap) + gap
        steps = max(len(losses), len(shipped[0]))
        X = lambda step: x0 + pw * step / steps
        Y = lambda loss: y0 + ph * (y_hi - loss) / (y_hi - y_lo)
        out.append(f'<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" '
                   'stroke="#ccc"/>')
        out.append(f'<text x="{x0}" y="{y0 - 6}" font-size="12" fill="#222">{escape(label)}</text>')
        y = y_lo
        while y <= y_hi + 1e-9:
            out.append(f'<line x1="{x0}" y1="{Y(y):.1f}" x2="{x0 + pw}" y2="{Y(y):.1f}" '
                       'stroke="#eee"/>')
            if i % columns == 0:
                out.append(f'<text x="{x0 - 5}" y="{Y(y) + 4:.1f}" text-anchor="end" fill="#444">'
                           f'{y:.2f}</text>')
            y += 0.25
        if i % columns == 0:  # the loss axis, named once a row
            cy = y0 + ph / 2
            out.append(f'<text x="{x0 - 44}" y="{cy}" text-anchor="middle" fill="#444" '
                       f'transform="rotate(-90 {x0 - 44} {cy})">loss</text>')
        for step in (0, steps // 2, steps):
            anchor = 'start' if step == 0 else 'end' if step == steps else 'middle'
            out.append(f'<text x="{X(step):.1f}" y="{y0 + ph + 13}" text-anchor="{anchor}" '
                       f'fill="#444">{"step " if step == steps else ""}{step}</text>')
        colour = COLOURS[i % len(COLOURS)]
        inks = {shipped[1]: '#555', vocab: colour if vocab != shipped[1] else '#555'}
        for v, ink in inks.items():  # one dashed line if the two vocabularies agree
            out.append(f'<line x1="{x0}" y1="{Y(math.log(v)):.1f}" x2="{x0 + pw}" '
                       f'y2="{Y(math.log(v)):.1f}" stroke="{ink}" stroke-dasharray="5 4"/>')
            out.append(f'<text x="{x0 + pw - 4}" y="{Y(math.log(v)) - 4:.1f}" text-anchor="end" '
                       f'font-size="10" fill="{ink}">uniform guess over {v} tokens</text>')
        for ls, ink, w in ((shipped[0], GREY, 6), (losses, colour, 1.6)):
            points = ' '.join(f'{X(window + k):.1f},{Y(y):.1f}' for k, y in enumerate(smooth(ls)))
            out.append(f'<polyline points="{points}" fill="none" stroke="{ink}" stroke-width="{w}" '
                       f'stroke-linejoin="round"/>')
    return '\n'.join(out + ['</svg>']) + '\n'


def panel_label(change, settings):
    """A panel's title: the change as the table shows it, to its colon or bracket; for a diff run
    with settings of its own (the schedules), those settings, which tell its panels apart."""
    text = change.replace('`', '')
    if ': ' in text and settings and text.split(': ')[0].endswith('.diff'):
        return text.split(': ', 1)[1]
    return re.split(r':| \(', text)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, epilog='The experiments: ' + ', '.join(NAMES),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('names', nargs='*', help='the experiments to run (names, or their starts); '
                                             'all of them if none')
    ap.add_argument('--list', action='store_true', help="each experiment's name and change")
    ap.add_argument('--source', action='store_true', help="print the one named experiment's "
                                                          'microgpt.py, and run nothing')
    ap.add_argument('--functions', action='store_true', help="print the functions row's dataset")
    ap.add_argument('--remake', action='store_true', help='run them all, and rewrite the picture '
                                                          'the experiments\' page shows')
    ap.add_argument('--re-port', action='store_true', help='rewrite every NAME.diff here to fit '
                    'microgpt.py as it is now, and name each that needs a person; runs nothing')
    args = ap.parse_args()
    if args.names and (args.remake or args.re_port or args.list or args.functions):
        ap.error('--remake, --re-port, --list and --functions take no names')
    if args.functions:  # the functions row's dataset: ... --functions > functions.txt
        exec(FUNCTIONS, {})  # the same code the functions row's run makes its file with
        return
    if args.list:
        for name, change, _, _ in EXPERIMENTS:
            print(f'{name:16} {change}')
        return
    if args.re_port:
        people = re_port(program.source())
        if people:
            sys.exit(f'experiments: {", ".join(people)}: re-port by hand '
                     '(tests/README.md says how)')
        return
    if args.source:
        chosen = choose(args.names)
        if len(chosen) != 1:
            sys.exit(f'experiments: --source takes the name of one experiment, not {len(chosen)}')
        print(text_of(*chosen[0][2:]), end='')
        return
    chosen = choose(args.names) if args.names else EXPERIMENTS
    texts = texts_of(chosen)  # every diff checked before any run
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
    if args.remake and edits != []:
        sys.exit('experiments: --remake is for microgpt.py as shipped; undo your edits first')
    print(f'{time.strftime("%Y-%m-%d")}, {cpu()}, {os.cpu_count()} cores, '
          f'{platform.python_implementation()} {platform.python_version()}, one run at a time, '
          f'on {base}\n')
    print('| change (the rest as shipped) | mean loss, last 100 steps | run time | first samples |')
    print('| --- | --- | --- | --- |', flush=True)
    results = {}
    for name, change, settings, diff in chosen:
        print(f'experiments: {name}...', file=sys.stderr, flush=True)
        if name == 'shipped' and edits:
            change = 'your microgpt.py'
        results[name] = loss, wall, names, losses, vocab, extra = run(texts[name])
        print(f'| {change} | {loss:.4f} | {seconds(wall)} | {", ".join(names)} |', flush=True)
        if extra:  # the experiments' page quotes them: to stderr, so that stdout stays the table
            print('\n'.join(extra), file=sys.stderr, flush=True)
    if 'shipped' not in results:
        print('experiments: no as-shipped run to draw the others over, so no loss_curves.svg',
              file=sys.stderr)
        return
    shipped = results['shipped'][3], results['shipped'][4]
    curves = [(panel_label(change, settings), results[name][3], results[name][4])
              for name, change, settings, _ in chosen
              if results[name][3] != shipped[0]]  # those that train differently
    path = CURVES if args.remake else os.path.join(HERE, 'out', 'loss_curves.svg')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w', encoding='utf-8') as f:  # whole, then into place
        f.write(svg(shipped, curves, f'How each experiment changes training, on input.txt '
                                     f'({time.strftime("%Y-%m-%d")}, {cpu()})'))
    os.replace(path + '.tmp', path)
    print(f'experiments: wrote {path}', file=sys.stderr)


if __name__ == '__main__':
    main()
