"""The README's experiments: the changes a learner tries first, each made to the real microgpt.py and
run to the end on the shipped input.txt, then measured: the mean loss of the last 100 steps (the
file's own summary line), the run's wall time, and its first samples. Prints a Markdown table (and,
to stderr, the gradient log of the run that asks for one), and, when it runs them all, draws their
loss curves in loss_curves.svg beside this file (README.md shows it): each step's printed loss,
averaged over 50 steps, one curve per experiment that trains differently (a change to sampling
alone draws the as-shipped curve again, so it is left out).

    python tests/experiments.py              # all of them, one after another (about 11 minutes)
    python tests/experiments.py temperature  # only those whose change mentions a word
    python tests/experiments.py --source final > final.py   # one experiment's edited microgpt.py

(Not a test: unittest does not collect it. Standard library only; progress goes to stderr.)
"""
import math, os, platform, re, subprocess, sys, tempfile, time
from html import escape

import harness
from benchmark import cpu, seconds

# Python's own function names, one per line: the "another dataset" experiment. The README gives the
# same code as a command: python3 -c "<this>" > functions.txt
FUNCTIONS = ("import builtins, itertools, math, os, random, re, string, time; print('\\n'.join(sorted({n "
             "for m in (builtins, itertools, math, os, os.path, random, re, string, time) for n in dir(m) "
             "if n.islower() and n[0] != '_'})))")

# The reference's final revision (the one on its author's blog) is microgpt.py with these edits; its
# step lines are also printed with end='\r', each over the last, which changes no number.
FINAL_REVISION = (
    {'block_size': '16', 'num_steps': '1000'},
    [('learning_rate, beta1, beta2, eps_adam = 1e-2, 0.9, 0.95, 1e-8',
      'learning_rate, beta1, beta2, eps_adam = 1e-2, 0.85, 0.99, 1e-8'),
     ('matrix = lambda nout, nin, std=0.02:', 'matrix = lambda nout, nin, std=0.08:'),
     ('matrix(n_embd, n_embd, std=0)  # zero: each block starts as identity', 'matrix(n_embd, n_embd)'),
     ('matrix(n_embd, 4 * n_embd, std=0)', 'matrix(n_embd, 4 * n_embd)'),
     ('x = [xi.relu() ** 2 for xi in x]', 'x = [xi.relu() for xi in x]'),
     ('learning_rate * 0.5 * (1 + math.cos(math.pi * step / num_steps))  # cosine decay to 0',
      'learning_rate * (1 - step / num_steps)  # linear decay to 0'),
     ('print(f"step {step+1:4d} / {num_steps:4d} | loss {loss.data:.4f}")',
      'print(f"step {step+1:4d} / {num_steps:4d} | loss {loss.data:.4f}", end=\'\\r\')')])

# (the change as the README shows it, settings {name: code}, code edits [(old, new)])
EXPERIMENTS = [
    ('as shipped', {}, []),
    ('`temperature = 0.2`', {'temperature': '0.2'}, []),
    ('`temperature = 1.0`', {'temperature': '1.0'}, []),
    ('`temperature = 1.5`', {'temperature': '1.5'}, []),
    ('`num_steps = 2000`', {'num_steps': '2000'}, []),
    ('`n_layer = 2` (deeper)', {'n_layer': '2'}, []),
    ('`n_embd = 32` (wider)', {'n_embd': '32'}, []),
    ('ReLU, not ReLU²: `x = [xi.relu() for xi in x]`', {},
     [('x = [xi.relu() ** 2 for xi in x]', 'x = [xi.relu() for xi in x]')]),
    ("`prompt = 'ma'`", {'prompt': "'ma'"}, []),
    ('`grad_log_every = 100` (prints how each matrix learns)', {'grad_log_every': '100'}, []),
    ("`input_path = 'functions.txt'` (Python's function names)", {'input_path': "'functions.txt'"}, []),
    ("the reference's final revision (its seven edits, below)", *FINAL_REVISION),
]
CURVES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'loss_curves.svg')
SUMMARY = re.compile(r'^mean loss of the last \d+ steps: (\d+\.\d{4})', re.M)


def edited(settings, edits):
    """microgpt.py's text with the settings set and each edit made (each `old` must occur once)."""
    text = harness.source_with(settings)
    for old, new in edits:
        if text.count(old) != 1:
            sys.exit(f'experiments: microgpt.py has no single {old!r}')
        text = text.replace(old, new)
    return text


def run(settings, edits, samples=5):
    """(mean loss of the last 100 steps, wall seconds, the first samples, every step's loss, the
    vocabulary size, the gradient log's lines) of one whole run."""
    text = edited(settings, edits)
    with tempfile.TemporaryDirectory(prefix='microgpt-experiment-') as d:
        harness.prepare_shipped(d, text)
        with open(os.path.join(d, 'functions.txt'), 'w', encoding='utf-8') as f:
            subprocess.run([sys.executable, '-c', FUNCTIONS], stdout=f, check=True)
        started = time.perf_counter()
        p = harness.execute(d, timeout=3600)
        wall = time.perf_counter() - started
    if p.returncode != 0:
        sys.exit(f'experiments: microgpt.py failed:\n{p.stderr}')
    vocab = int(re.search(r'^vocab size: (\d+)$', p.stdout, re.M).group(1))
    return (float(SUMMARY.search(p.stdout).group(1)), wall, harness.samples(p.stdout)[:samples],
            harness.losses(p.stdout), vocab, [line for line in p.stdout.splitlines() if line.startswith('  ')])


COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf']


def svg(curves, title, window=50):
    """An SVG line chart, standard library only: curves is [(label, losses, vocabulary size)]. Each
    curve is the moving average of `window` steps; a dashed line marks each uniform guess, log(vocab).
    Dark text on a white card, so that it reads the same in light and dark themes."""
    smooth = [(label, [sum(ls[i - window:i]) / window for i in range(window, len(ls) + 1)], vocab)
              for label, ls, vocab in curves]
    uniforms = sorted({vocab for _, _, vocab in curves})
    x_max = max(len(ls) for _, ls, _ in curves)
    ys = [y for _, s, _ in smooth for y in s] + [math.log(v) for v in uniforms]
    y_lo, y_hi = math.floor(min(ys) * 4) / 4, math.ceil((max(ys) + 0.05) * 4) / 4
    left, right, top, bottom, width, height = 60, 250, 40, 50, 900, 440
    X = lambda step: left + (width - left - right) * step / x_max
    Y = lambda loss: top + (height - top - bottom) * (y_hi - loss) / (y_hi - y_lo)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
           f'<rect width="{width}" height="{height}" fill="#ffffff" rx="6"/>',
           f'<text x="{left}" y="24" font-size="15" fill="#222">{title}</text>']
    x_step = next(n for n in (25, 50, 100, 250, 500, 1000, 2500) if x_max / n <= 8)
    for step in range(0, x_max + 1, x_step):
        out.append(f'<line x1="{X(step):.1f}" y1="{top}" x2="{X(step):.1f}" y2="{height - bottom}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{X(step):.1f}" y="{height - bottom + 18}" text-anchor="middle" fill="#444">{step}</text>')
    y = y_lo
    while y <= y_hi + 1e-9:
        out.append(f'<line x1="{left}" y1="{Y(y):.1f}" x2="{width - right}" y2="{Y(y):.1f}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{left - 8}" y="{Y(y) + 4:.1f}" text-anchor="end" fill="#444">{y:.2f}</text>')
        y += 0.25
    out.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height - 12}" text-anchor="middle" fill="#222">step</text>')
    out.append(f'<text x="16" y="{(top + height - bottom) / 2:.0f}" text-anchor="middle" fill="#222" '
               f'transform="rotate(-90 16 {(top + height - bottom) / 2:.0f})">loss ({window}-step mean)</text>')
    for vocab in uniforms:  # the loss of guessing every token equally likely: where training starts
        y = Y(math.log(vocab))
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#666" '
                   f'stroke-dasharray="6 4"/>')
        out.append(f'<text x="{width - right - 4}" y="{y - 5:.1f}" text-anchor="end" fill="#555">'
                   f'uniform guess, {vocab} tokens: {math.log(vocab):.4f}</text>')
    for i, ((label, s, _), color) in enumerate(zip(smooth, COLORS)):  # a curve and its legend entry
        points = ' '.join(f'{X(window + k):.1f},{Y(y):.1f}' for k, y in enumerate(s))
        out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="1.8"/>')
        y = top + 10 + 22 * i
        out.append(f'<line x1="{width - right + 16}" y1="{y}" x2="{width - right + 40}" y2="{y}" '
                   f'stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{width - right + 46}" y="{y + 4}" fill="#222">{escape(label)}</text>')
    return '\n'.join(out + ['</svg>']) + '\n'


def main():
    words = sys.argv[1:]
    if words[:1] == ['--source']:
        chosen = [e for e in EXPERIMENTS if any(w in e[0] for w in words[1:])]
        if len(chosen) != 1:
            sys.exit(f'experiments: --source takes words that name one experiment, not {len(chosen)}')
        print(edited(*chosen[0][1:]), end='')
        return
    chosen = [e for e in EXPERIMENTS if not words or any(w in e[0] for w in words)]
    print(f'{time.strftime("%Y-%m-%d")}, {cpu()}, {os.cpu_count()} cores, '
          f'{platform.python_implementation()} {platform.python_version()}, one run at a time\n')
    print('| change (the rest as shipped) | mean loss, last 100 steps | run time | first samples |')
    print('| --- | --- | --- | --- |', flush=True)
    curves = []
    for change, settings, edits in chosen:
        print(f'experiments: {change}...', file=sys.stderr, flush=True)
        loss, wall, names, losses, vocab, gradient_log = run(settings, edits)
        print(f'| {change} | {loss:.4f} | {seconds(wall)} | {", ".join(names)} |', flush=True)
        if gradient_log:  # README.md quotes it: to stderr, so that stdout stays the table
            print('\n'.join(gradient_log), file=sys.stderr, flush=True)
        if all(losses != seen for _, seen, _ in curves):  # trains differently from every run before it
            curves.append((re.split(r':| \(', change.replace('`', ''))[0], losses, vocab))
    if words:
        print('experiments: only some of them ran, so loss_curves.svg is left as it was', file=sys.stderr)
        return
    with open(CURVES, 'w', encoding='utf-8') as f:
        f.write(svg(curves, f'Loss while training, as each experiment changes it '
                            f'({time.strftime("%Y-%m-%d")}, on input.txt)'))
    print(f'experiments: wrote {CURVES}', file=sys.stderr)


if __name__ == '__main__':
    main()
