"""A rung's loss on names it never trained on, so that every rung is scored on the same question.

    python3 tests/ladder/held_out.py tests/ladder/07_attention.py [--steps N] [--seed S] [--names K]

It runs the rung's own cells (Settings, Data, Tokenizer, ..., Training; not Inference) in the
repository's root, on its input.txt, with K names set aside after the Data cell: the same K names
for every rung and every seed (drawn by a random generator of its own from the distinct names),
and every copy of them taken out of the docs the Training cell reads. Then it scores those names
with the rung's own model (the last function its Model cell defines): its mean loss per predicted
character, over each name's first 8 predictions (its characters, then its end, as far as 8:
microgpt.py's block_size, so that every rung answers the same predictions). --steps and --seed
rewrite the rung's `num_steps` and `random.seed(42)` lines; a long run is quicker under pypy3.
"""
import argparse, contextlib, io, math, os, random, sys, time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/
import program

POSITIONS = 8  # predictions scored per name: microgpt.py's block_size

class Reads(list):
    """The training docs, noting every name the Training cell reads (one a step), and calling
    `every(steps)` before a step when a multiple of `often` steps have been taken."""
    def __init__(self, docs, often=0, every=None):
        super().__init__(docs)
        self.read, self.steps, self.often, self.every = set(), 0, often, every

    def __getitem__(self, i):
        if self.often and self.steps and self.steps % self.often == 0:
            self.every(self.steps)
        self.steps += 1
        doc = super().__getitem__(i)
        self.read.add(doc)
        return doc

def held_out_names(docs, k):
    return set(random.Random(0).sample(sorted(set(docs)), k))

def probabilities(ns, model, tokens):
    """For each of the first POSITIONS predictions, the probability the rung's model gives the
    character that came next. The model takes (token_id), (token_id, pos_id) or also the cache
    (keys and values, or values alone); it gives probabilities (counting) or scores."""
    cache = {'keys': [[] for _ in range(ns.get('n_layer', 0))],
             'values': [[] for _ in range(ns.get('n_layer', 0))]}
    names = model.__code__.co_varnames[:model.__code__.co_argcount]
    out = []
    for pos_id in range(min(POSITIONS, len(tokens) - 1)):
        given = dict(cache, token_id=tokens[pos_id], pos_id=pos_id)
        scores = model(*[given[name] for name in names])
        probs = ns['softmax'](scores) if hasattr(scores[0], 'data') else scores
        p = probs[tokens[pos_id + 1]]
        out.append(getattr(p, 'data', p))
    return out

def score(ns, model, held):
    """The held-out names' mean loss per predicted character, and how many characters that is."""
    total, count = 0.0, 0
    for doc in sorted(held):
        tokens = [ns['BOS']] + [ns['uchars'].index(ch) for ch in doc] + [ns['BOS']]
        probs = probabilities(ns, model, tokens)
        total += -math.fsum(math.log(p) for p in probs)
        count += len(probs)
    return total / count, count

def run(path, steps=None, seed=None, names=1000, folder=program.ROOT, often=0, every=print):
    """The rung trained in `folder` (the repository's root) with `names` names set aside: (its
    namespace, the held-out names, their mean loss per predicted character, how many characters
    that is, its model); every `often` steps, every(steps, loss) too. Stops in one line, before
    training, if nothing would be left to train on or to score, or a held-out name has a
    character no training name has."""
    ns, held, model, known = {'__name__': '__main__'}, None, None, []
    text = program.source(os.path.abspath(path), seed=seed,
                          **({} if steps is None else {'num_steps': steps}))
    here = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for title in program.run_cells(text, ns, os.path.abspath(path)):
                if title == 'Data':
                    if not 0 < names < len(set(ns['docs'])):
                        sys.exit(f"held_out: --names {names} leaves nothing to train on or to "
                                 f"score: give 1 to {len(set(ns['docs'])) - 1}")
                    held = held_out_names(ns['docs'], names)
                    ns['docs'] = Reads([d for d in ns['docs'] if d not in held], often,
                                       lambda steps: every(steps, score(ns, model, held)[0]))
                if title == 'Tokenizer':
                    unseen = sorted(set(''.join(held)) - set(ns['uchars']))
                    if unseen:
                        sys.exit(f"held_out: held-out names have characters no training name "
                                 f"has: {''.join(unseen)!r}: try another --names")
                if title == 'Model':
                    model = [v for k, v in ns.items() if k not in known and callable(v)][-1]
                if title == 'Training':
                    break
                known = list(ns)
    finally:
        os.chdir(here)
    return (ns, held) + score(ns, model, held) + (model,)

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('rung')
    parser.add_argument('--steps', type=int, help="num_steps (the rung's own: 500)")
    parser.add_argument('--seed', type=int, help="random.seed (the rung's own: 42)")
    parser.add_argument('--names', type=int, default=1000, help='names set aside (1000)')
    parser.add_argument('--every', type=int, default=0, help='also score every N steps')
    args = parser.parse_args()
    start = time.time()
    def every(steps, loss):  # while the Training cell's own prints are held back
        print(f"{os.path.basename(args.rung)}: held-out loss {loss:.4f} after {steps} steps",
              file=sys.__stdout__, flush=True)
    ns, held, loss, count, _ = run(args.rung, args.steps, args.seed, args.names, often=args.every,
                                   every=every)
    seed = 42 if args.seed is None else args.seed
    print(f"{os.path.basename(args.rung)}: held-out loss {loss:.4f} on {len(held)} names "
          f"({count} predictions), {ns['num_steps']} steps, seed {seed}, "
          f"{time.time() - start:.0f} s ({sys.implementation.name})", flush=True)
