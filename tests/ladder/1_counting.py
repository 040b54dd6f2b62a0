import math, os, random, sys
def check(ok, problem):  # a mistake ends the run with one line that names it, not a traceback
    if not ok:
        sys.exit(f"microgpt: {problem}")  # a SyntaxError here? This file needs Python 3.6 or newer

# %% Settings
# Change these to change the run; each is checked before any work starts.
input_path = 'input.txt'   # the dataset: one document (here, a name) per line, UTF-8
temperature = 0.5          # sampling: below 1 picks likelier characters, above 1 wilder ones
# training
block_size = 8             # longest context in tokens; longer names are cut short in training
num_steps = 500            # training steps, one document each
for name, x in [('block_size', block_size), ('num_steps', num_steps)]:
    check(type(x) is int and x > 0, f"{name} must be an int above 0, not {x!r}")  # not True: a bool
for name, x, low, high in [('temperature', temperature, 1e-100, 1e100)]:  # beyond, math overflows
    check(isinstance(x, (int, float)) and type(x) is not bool and low <= x < high,
          f"{name} must be an int or a float from {low} to below {high}, not {x!r}")
check(isinstance(input_path, (str, os.PathLike)), f"input_path must be a path, not {input_path!r}")

# %% Data
# The documents to learn from, one per line (names here), in a shuffled order.
random.seed(42)  # the same seed gives the same run, byte for byte
names_url = 'https://raw.githubusercontent.com/karpathy/makemore/refs/heads/master/names.txt'
try:  # read from the folder you run in, as UTF-8 (a byte-order mark is skipped)
    if input_path == 'input.txt' and not os.path.lexists('input.txt'):  # only it is downloaded
        import urllib.request
        urllib.request.urlretrieve(names_url, 'input.txt.download')  # to a file of its own first
        os.replace('input.txt.download', 'input.txt')  # so that only a whole one becomes input.txt
    with open(input_path, encoding='utf-8-sig') as f:
        docs = [l.strip() for l in f.read().split('\n') if l.strip()]  # \r\n and \r read as \n
except Exception as e:  # missing, a folder, not UTF-8, no network: the reason, as Python gives it
    if input_path == 'input.txt' and os.path.exists('input.txt.download'):  # a cut-off download
        os.remove('input.txt.download')
    check(False, f"cannot read {os.path.realpath(input_path)}: {e}")  # the file it really tried
check(docs, f"{input_path} has no names in it (it is empty or blank); put one name per line")
random.shuffle(docs)
print(f"num docs: {len(docs)}")

# %% Tokenizer
# Text to numbers and back: an id for each distinct character, and one that marks a name's edges.
uchars = sorted(set(''.join(docs)))  # ids 0..n-1
BOS = len(uchars)  # Beginning Of Sequence: starts every name, and also marks where it ends
vocab_size = len(uchars) + 1
print(f"vocab size: {vocab_size}")
check(all(c.encode(sys.stdout.encoding or 'utf-8', 'ignore') for c in uchars),  # else samples fail
      f"this terminal cannot print all of {input_path}: set PYTHONIOENCODING=utf-8, run again")

# %% Parameters
# What the model knows: how often each token came right after each other one, in the names so far.
counts = [[0] * vocab_size for _ in range(vocab_size)]  # counts[a][b]: times b came right after a

# %% Model
# The bigram model: one token in, the probability of each possible next token out, from counts.
def bigram(token_id):
    row = [c + 1 for c in counts[token_id]]  # one more each: an unseen pair is rare, not impossible
    total = sum(row)
    return [c / total for c in row]

# %% Training
# Learn, one name per step: its loss under the counts so far, then its own pairs are counted.
loss_history = []
try:
    for step in range(num_steps):
        doc = docs[step % len(docs)]
        tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]
        n = min(block_size, len(tokens) - 1)
        losses = []
        for pos_id in range(n):
            token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
            probs = bigram(token_id)
            loss_t = -math.log(probs[target_id])
            losses.append(loss_t)
        loss = (1 / n) * sum(losses)  # the mean surprise at each next character
        for pos_id in range(n):  # only then learn from it, as every rung does: count its pairs
            counts[tokens[pos_id]][tokens[pos_id + 1]] += 1
        loss_history.append(loss)
        print(f"step {step+1:4d} / {num_steps:4d} | loss {loss:.4f}")
except KeyboardInterrupt:  # Ctrl-C: training stops here, and the model as it is makes the names
    print(f"stopped by Ctrl-C after {len(loss_history)} steps")
recent = loss_history[-100:]  # one name's loss jumps about: a mean over many shows the progress
print(f"mean loss of the last {len(recent)} steps: {math.fsum(recent) / max(1, len(recent)):.4f} "
      f"(a uniform guess over {vocab_size} tokens: {math.log(vocab_size):.4f})")

# %% Inference
# Make up new names: from BOS, draw each next character from the model's probabilities, until BOS.
print("\n--- inference (new, hallucinated names) ---")
for sample_idx in range(20):
    token_id = BOS
    sample = []
    for pos_id in range(block_size):
        probs = bigram(token_id)
        weights = [(p / max(probs)) ** (1 / temperature) for p in probs]  # as logits / temperature
        token_id = random.choices(range(vocab_size), weights=weights)[0]
        if token_id == BOS:
            break
        sample.append(uchars[token_id])
    print(f"sample {sample_idx+1:2d}: {''.join(sample)}")
