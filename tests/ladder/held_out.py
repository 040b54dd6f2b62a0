"""A rung's loss on names it never trained on, so that every rung is scored on the same question.

    python3 tests/ladder/held_out.py tests/ladder/6_attention.py [--steps N] [--seed S] [--names K]

It runs the rung's own cells (Settings, Data, Tokenizer, ..., Training; not Inference) with K names
set aside after the Data cell: the same K names for every rung and every seed (drawn by a random
generator of its own from the distinct names in input.txt), and every copy of them taken out of
the docs the Training cell reads. Then it scores those names with the rung's own model: its mean
loss per predicted character, over each name's first 8 predictions (its characters, then its
end, as far as 8: microgpt.py's block_size, so that every rung answers the same predictions).
--steps and --seed rewrite the rung's `num_steps` and `random.seed(42)` lines; a long run is
quicker under PyPy (pypy3).
"""
import argparse, contextlib, io, math, os, random, re, sys, time

POSITIONS = 8  # predictions scored per name: microgpt.py's block_size

class Reads(list):
    """The training docs, noting every name the Training cell reads."""
    def __init__(self, docs):
        super().__init__(docs)
        self.read = set()

    def __getitem__(self, i):
        doc = super().__getitem__(i)
        self.read.add(doc)
        return doc

def source(path, steps=None, seed=None):
    with open(path, encoding='utf-8') as f:
        text = f.read()
    if steps is not None:
        text = re.sub(r'(?m)^num_steps = \d+', f'num_steps = {steps}', text, count=1)
    if seed is not None:
        text = re.sub(r'(?m)^random\.seed\(42\)', f'random.seed({seed})', text, count=1)
    return text

def cells(text):
    """[(title, code)] at each `# %% Title` line; what comes before them is the first cell."""
    parts = re.split(r'(?m)^(?=# %% )', text)
    return [(p.split('\n', 1)[0][5:].strip() if p.startswith('# %% ') else '', p) for p in parts]

def held_out_names(docs, k):
    return set(random.Random(0).sample(sorted(set(docs)), k))

def probabilities(ns, tokens):
    """The rung's model: for each of the first POSITIONS predictions, the probability it gives the
    character that came next."""
    n = min(POSITIONS, len(tokens) - 1)
    if 'gpt' in ns:
        keys, values = [[] for _ in range(ns['n_layer'])], [[] for _ in range(ns['n_layer'])]
        model = lambda t, pos: ns['softmax'](ns['gpt'](t, pos, keys, values))
    elif 'counts' in ns:  # counting: bigram() gives probabilities already
        model = lambda t, pos: ns['bigram'](t)
    elif ns['bigram'].__code__.co_argcount == 2:  # embeddings: a token and its position
        model = lambda t, pos: ns['softmax'](ns['bigram'](t, pos))
    else:
        model = lambda t, pos: ns['softmax'](ns['bigram'](t))
    out = []
    for pos_id in range(n):
        p = model(tokens[pos_id], pos_id)[tokens[pos_id + 1]]
        out.append(getattr(p, 'data', p))
    return out

def run(path, steps=None, seed=None, names=1000, folder=None):
    """The rung trained with `names` names set aside: (its namespace, the held-out names, their
    mean loss per predicted character, how many characters that is)."""
    ns = {'__name__': '__main__'}
    held = None
    text = source(path, steps, seed)
    here = os.getcwd()
    os.chdir(folder or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(path)))))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for title, code in cells(text):
                if title == 'Inference':
                    break
                exec(compile(code, path, 'exec'), ns)
                if title == 'Data':
                    held = held_out_names(ns['docs'], names)
                    ns['docs'] = Reads([d for d in ns['docs'] if d not in held])
    finally:
        os.chdir(here)
    total, count = 0.0, 0
    for doc in sorted(held):
        missing = set(doc) - set(ns['uchars'])
        if missing:
            raise ValueError(f'held-out {doc!r} has characters no training name has: {missing}')
        tokens = [ns['BOS']] + [ns['uchars'].index(ch) for ch in doc] + [ns['BOS']]
        probs = probabilities(ns, tokens)
        total += -math.fsum(math.log(p) for p in probs)
        count += len(probs)
    return ns, held, total / count, count

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('rung')
    parser.add_argument('--steps', type=int, help="num_steps (the rung's own: 500)")
    parser.add_argument('--seed', type=int, help='random.seed (the rung\'s own: 42)')
    parser.add_argument('--names', type=int, default=1000, help='names set aside (1000)')
    args = parser.parse_args()
    start = time.time()
    ns, held, loss, count = run(args.rung, args.steps, args.seed, args.names)
    seed = 42 if args.seed is None else args.seed
    print(f"{os.path.basename(args.rung)}: held-out loss {loss:.4f} on {len(held)} names "
          f"({count} predictions), {ns['num_steps']} steps, seed {seed}, "
          f"{time.time() - start:.0f} s ({sys.implementation.name})", flush=True)
