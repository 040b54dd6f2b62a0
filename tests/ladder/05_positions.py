import os
import math
import random

# %% Settings
# Change these to change the run.
n_embd = 16                # width of the network: each token's vector
temperature = 0.5          # sampling: below 1 picks likelier characters, above 1 wilder ones
# training
block_size = 8             # positions the model knows (wpe's rows); longer names are cut short
num_steps = 500            # training steps, one document each
learning_rate = 0.1        # each step moves every weight by this times its gradient

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

# %% Autograd
# A number that remembers how it was made, so that backward() can find how the loss depends on it.
class Value:
    def __init__(self, data, children=(), local_grads=()):
        self.data = data                 # the number itself, from the forward pass
        self.grad = 0                    # d(loss)/d(this number), from the backward pass
        self._children = children        # the Values it was computed from
        self._local_grads = local_grads  # d(this)/d(child), one for each child

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), (1, 1))

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, other): return Value(self.data**other, (self,), (other * self.data**(other-1),))
    def log(self): return Value(math.log(self.data), (self,), (1/self.data,))
    def exp(self): return Value(math.exp(self.data), (self,), (math.exp(self.data),))
    def __neg__(self): return self * -1
    def __radd__(self, other): return self + other
    def __sub__(self, other): return self + (-other)
    def __rmul__(self, other): return self * other
    def __truediv__(self, other): return self * other**-1

    def backward(self):
        topo = []  # every node, each after the nodes it was made from
        visited = set()
        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._children:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        self.grad = 1  # then the chain rule, from the loss back to every parameter
        for v in reversed(topo):
            for child, local_grad in zip(v._children, v._local_grads):
                child.grad += local_grad * v.grad

# %% Parameters
# What the model knows: matrices of small random numbers, which training adjusts.
matrix = lambda nout, nin, std=0.02: [[Value(random.gauss(0, std)) for _ in range(nin)] for _ in range(nout)]
state_dict = {'wte': matrix(vocab_size, n_embd), 'wpe': matrix(block_size, n_embd), 'lm_head': matrix(vocab_size, n_embd)}
params = [p for mat in state_dict.values() for row in mat for p in row]  # every number, in one list
print(f"num params: {len(params)}")

# %% Model
# One token and its position in, a score for every possible next token out: still no context.
def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]

def softmax(logits):
    max_val = max(val.data for val in logits)  # subtracted first, so that exp() cannot overflow
    exps = [(val - max_val).exp() for val in logits]
    total = sum(exps)
    return [e / total for e in exps]

def token_and_position(token_id, pos_id):
    tok_emb = state_dict['wte'][token_id]  # token embedding
    pos_emb = state_dict['wpe'][pos_id]  # position embedding
    x = [t + p for t, p in zip(tok_emb, pos_emb)]  # joint token and position embedding
    logits = linear(x, state_dict['lm_head'])
    return logits

# %% Training
# Learn, one name per step: its loss, backward() for every gradient, then a step downhill for each.
for step in range(num_steps):
    doc = docs[step % len(docs)]
    tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]
    n = min(block_size, len(tokens) - 1)
    losses = []
    for pos_id in range(n):
        token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
        logits = token_and_position(token_id, pos_id)
        probs = softmax(logits)
        loss_t = -probs[target_id].log()
        losses.append(loss_t)
    loss = (1 / n) * sum(losses)  # the mean surprise at each next character
    loss.backward()
    for p in params:  # gradient descent: each weight moves a little downhill
        p.data -= learning_rate * p.grad
        p.grad = 0
    print(f"step {step+1:4d} / {num_steps:4d} | loss {loss.data:.4f}")

# %% Inference
# Make up new names: from BOS, draw each next character from the model's probabilities, until BOS.
print("\n--- inference (new, hallucinated names) ---")
for sample_idx in range(20):
    token_id = BOS
    sample = []
    for pos_id in range(block_size):
        logits = token_and_position(token_id, pos_id)
        probs = softmax([l / temperature for l in logits])
        token_id = random.choices(range(vocab_size), weights=[p.data for p in probs])[0]
        if token_id == BOS:
            break
        sample.append(uchars[token_id])
    print(f"sample {sample_idx+1:2d}: {''.join(sample)}")
