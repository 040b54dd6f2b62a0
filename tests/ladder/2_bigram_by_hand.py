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
learning_rate = 2          # each step moves every weight by this times its gradient
for name, x in [('block_size', block_size), ('num_steps', num_steps)]:
    check(type(x) is int and x > 0, f"{name} must be an int above 0, not {x!r}")  # not True: a bool
for name, x, low, high in [('learning_rate', learning_rate, 1e-100, 1e100),
                           ('temperature', temperature, 1e-100, 1e100)]:  # beyond, math overflows
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

# %% Autograd
# None yet: a weight is a number and its gradient, which the Training cell works out by hand.
class Value:
    def __init__(self, data):
        self.data = data                 # the number itself, from the forward pass
        self.grad = 0                    # d(loss)/d(this number), from the backward pass

# %% Parameters
# What the model knows: a table of numbers, a row for each token, which training adjusts.
matrix = lambda nout, nin, std=0.02: [[Value(random.gauss(0, std)) for _ in range(nin)] for _ in range(nout)]
state_dict = {'wte': matrix(vocab_size, vocab_size)}  # row t: a score for each token to follow t
params = [p for mat in state_dict.values() for row in mat for p in row]  # every number, in one list
print(f"num params: {len(params)}")

# %% Model
# The bigram model: one token in, a score for every possible next token out.
def softmax(logits):
    max_val = max(val.data for val in logits)  # subtracted first, so that exp() cannot overflow
    exps = [math.exp(val.data - max_val) for val in logits]
    total = sum(exps)
    return [e / total for e in exps]

def bigram(token_id):
    return state_dict['wte'][token_id]  # its row of the table: the weights are the scores

# %% Training
# Learn, one name per step: its loss, each weight's gradient, then a step downhill for each.
loss_history = []
try:
    for step in range(num_steps):
        doc = docs[step % len(docs)]
        tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]
        n = min(block_size, len(tokens) - 1)
        losses = []
        for pos_id in range(n):
            token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
            logits = bigram(token_id)
            probs = softmax(logits)
            check(probs[target_id] > 0, f"loss diverged at step {step+1}: lower learning_rate")
            loss_t = -math.log(probs[target_id])
            losses.append(loss_t)
            for j, w in enumerate(logits):  # d(loss_t)/d(score j): softmax minus the one-hot target
                w.grad += (probs[j] - (j == target_id)) / n  # over n: the loss is the mean of n
        loss = (1 / n) * sum(losses)  # the mean surprise at each next character
        for p in params:  # gradient descent: each weight moves a little downhill
            p.data -= learning_rate * p.grad
            p.grad = 0
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
        logits = bigram(token_id)
        probs = softmax(logits)
        weights = [(p / max(probs)) ** (1 / temperature) for p in probs]  # as logits / temperature
        token_id = random.choices(range(vocab_size), weights=weights)[0]
        if token_id == BOS:
            break
        sample.append(uchars[token_id])
    print(f"sample {sample_idx+1:2d}: {''.join(sample)}")
