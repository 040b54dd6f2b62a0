"""The README's experiments: the changes a learner tries first, each made to the real microgpt.py and
run to the end on the shipped input.txt, then measured: the mean loss of the last 100 steps (the
file's own summary line), the run's wall time, and its first samples. Prints a Markdown table.

    python tests/experiments.py              # all of them, one after another (about 20 minutes)
    python tests/experiments.py temperature  # only those whose change mentions a word
    python tests/experiments.py --source final > final.py   # one experiment's edited microgpt.py

(Not a test: unittest does not collect it. Standard library only; progress goes to stderr.)
"""
import os, platform, re, subprocess, sys, tempfile, time

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
    ("`input_path = 'functions.txt'` (Python's function names)", {'input_path': "'functions.txt'"}, []),
    ("the reference's final revision (its seven edits, below)", *FINAL_REVISION),
]
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
    """(mean loss of the last 100 steps, wall seconds, the first samples) of one whole run."""
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
    return float(SUMMARY.search(p.stdout).group(1)), wall, harness.samples(p.stdout)[:samples]


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
    for change, settings, edits in chosen:
        print(f'experiments: {change}...', file=sys.stderr, flush=True)
        loss, wall, names = run(settings, edits)
        print(f'| {change} | {loss:.4f} | {seconds(wall)} | {", ".join(names)} |', flush=True)


if __name__ == '__main__':
    main()
