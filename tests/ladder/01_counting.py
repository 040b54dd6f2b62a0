import os
import math
import random

# %% Settings
# Change these to change the run.
temperature = 0.5          # sampling: below 1 picks likelier characters, above 1 wilder ones
# training
num_steps = 500            # training steps, one document each

# %% Data
# The documents to learn from, one per line (names here), in a shuffled order.
random.seed(42)  # the same seed gives the same run, byte for byte
if not os.path.exists('input.txt'):  # fetched only if it is missing
    import urllib.request
    names_url = 'https://raw.githubusercontent.com/karpathy/makemore/refs/heads/master/names.txt'
    urllib.request.urlretrieve(names_url, 'input.txt')
docs = [l.strip() for l in open('input.txt').read().strip().split('\n') if l.strip()]
random.shuffle(docs)
print(f"num docs: {len(docs)}")

# %% Tokenizer
# Text to numbers and back: an id for each distinct character, and one that marks a name's edges.
uchars = sorted(set(''.join(docs)))  # ids 0..n-1
BOS = len(uchars)  # Beginning Of Sequence: starts every name, and also marks where it ends
vocab_size = len(uchars) + 1
print(f"vocab size: {vocab_size}")

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
for step in range(num_steps):
    doc = docs[step % len(docs)]
    tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]
    n = len(tokens) - 1
    losses = []
    for pos_id in range(n):
        token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
        probs = bigram(token_id)
        loss_t = -math.log(probs[target_id])
        losses.append(loss_t)
    loss = (1 / n) * sum(losses)  # the mean surprise at each next character
    for pos_id in range(n):  # only then learn from it (as every rung does): count its pairs
        counts[tokens[pos_id]][tokens[pos_id + 1]] += 1
    print(f"step {step+1:4d} / {num_steps:4d} | loss {loss:.4f}")

# %% Inference
# Make up new names: from BOS, draw each next character from the model's probabilities, until BOS.
print("\n--- inference (new, hallucinated names) ---")
for sample_idx in range(20):
    token_id = BOS
    sample = []
    while True:  # until BOS: a bigram model knows no positions
        probs = bigram(token_id)
        weights = [p ** (1 / temperature) for p in probs]  # as later rungs' logits / temperature
        token_id = random.choices(range(vocab_size), weights=weights)[0]
        if token_id == BOS:
            break
        sample.append(uchars[token_id])
    print(f"sample {sample_idx+1:2d}: {''.join(sample)}")
