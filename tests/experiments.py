"""The README's experiments: the changes a learner tries first, each made to the real microgpt.py and
run to the end on the shipped input.txt, then measured: the mean loss of the last 100 steps (the
file's own summary line), the run's wall time, and its first samples. Prints a Markdown table.

    python tests/experiments.py              # all of them, one after another (about 20 minutes)
    python tests/experiments.py temperature  # only those whose change mentions a word

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
]
SUMMARY = re.compile(r'^mean loss of the last \d+ steps: (\d+\.\d{4})', re.M)


def run(settings, edits, samples=5):
    """(mean loss of the last 100 steps, wall seconds, the first samples) of one whole run."""
    text = harness.source_with(settings)
    for old, new in edits:
        if text.count(old) != 1:
            sys.exit(f'experiments: microgpt.py has no single line {old!r}')
        text = text.replace(old, new)
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
