import os, gc, sys  # gc: the collector, paused while training; sys: to stop with a one-line reason
import math
import random

# %% Settings
# Change these to change the run: the dataset, the size of the model, how long it learns.
input_path = 'input.txt'   # the dataset: one document (here, a name) per line, UTF-8
n_embd = 16                # width of the network: each token's vector
n_head = 4                 # attention heads; each reads n_embd // n_head of the width
n_layer = 1                # depth of the network: transformer blocks
temperature = 0.5          # sampling: below 1 picks likelier characters, above 1 wilder ones
if n_embd % n_head != 0: sys.exit("microgpt: n_embd must be divisible by n_head")  # else silent
if not temperature > 0: sys.exit("microgpt: temperature must be above 0")  # else lost at the end
block_size = 8             # longest context in tokens; longer names are cut short in training
num_steps = 500            # training steps, one document each
learning_rate, beta1, beta2, eps_adam = 1e-2, 0.9, 0.95, 1e-8  # Adam
if not learning_rate > 0: sys.exit("microgpt: learning_rate must be above 0")  # else it unlearns

# %% Data
# The documents to learn from, one per line (names here), in a shuffled order.
random.seed(42)  # the same seed gives the same run, byte for byte
if input_path == 'input.txt' and not os.path.exists('input.txt'):  # fetched only if it is missing
    import urllib.request
    names_url = 'https://raw.githubusercontent.com/karpathy/makemore/refs/heads/master/names.txt'
    urllib.request.urlretrieve(names_url, 'input.txt.download')
    os.replace('input.txt.download', 'input.txt')  # only a whole download becomes input.txt
docs = [l.strip() for l in open(input_path, encoding='utf-8-sig') if l.strip()]  # -sig: skips a BOM
random.shuffle(docs)
print(f"num docs: {len(docs)}")

# %% Tokenizer
# Text to numbers and back: an id for each distinct character, and one that marks a name's edges.
uchars = sorted(set(''.join(docs)))  # ids 0..n-1
BOS = len(uchars)  # Beginning Of Sequence: starts every name, and also marks where it ends
vocab_size = len(uchars) + 1
print(f"vocab size: {vocab_size}")
if not all(c.encode(sys.stdout.encoding or 'utf-8', 'ignore') for c in uchars):  # else at the end
    sys.exit(f"microgpt: this terminal cannot show all of {input_path}: set PYTHONIOENCODING=utf-8")

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
    def relu(self): return Value(max(0, self.data), (self,), (float(self.data > 0),))
    def __neg__(self): return self * -1
    def __radd__(self, other): return self + other
    def __sub__(self, other): return self + (-other)
    def __rsub__(self, other): return other + (-self)
    def __rmul__(self, other): return self * other
    def __truediv__(self, other): return self * other**-1
    def __rtruediv__(self, other): return other * self**-1

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
        del build_topo  # it calls itself, a cycle that would keep the whole graph in memory
        self.grad = 1  # then the chain rule, from the loss back to every parameter
        for v in reversed(topo):
            for child, local_grad in zip(v._children, v._local_grads):
                child.grad += local_grad * v.grad

# %% Parameters
# What the model knows: matrices of small random numbers, if a step fits (tests/REFERENCE.md).
ram = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') if os.name == 'posix' else 8e9
longest = min(block_size, max(len(doc) for doc in docs) + 1)  # positions in the longest step
graph_bytes = 600 * longest * n_embd * (n_layer * (24 * n_embd + 3 * longest) + 2 * vocab_size)
sys.setrecursionlimit(1000 + 2 * vocab_size + (n_layer + 1) * (8 * n_embd + 2 * longest + 20))
if graph_bytes > ram or sys.getrecursionlimit() > 11000:  # else the machine swaps, or Python dies
    sys.exit("microgpt: too big for this machine: " + max((8 * n_embd, 'lower n_embd or n_layer'),
             (2 * longest, 'lower block_size'), (vocab_size, 'fewer characters in input'))[1])
head_dim = n_embd // n_head  # the width each head reads
matrix = lambda nout, nin, std=0.02: [[Value(random.gauss(0, std)) for _ in range(nin)] for _ in range(nout)]
state_dict = {'wte': matrix(vocab_size, n_embd), 'wpe': matrix(block_size, n_embd), 'lm_head': matrix(vocab_size, n_embd)}
for i in range(n_layer):
    state_dict[f'layer{i}.attn_wq'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wk'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wv'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wo'] = matrix(n_embd, n_embd, std=0)  # zero: blocks start as no-ops
    state_dict[f'layer{i}.mlp_fc1'] = matrix(4 * n_embd, n_embd)
    state_dict[f'layer{i}.mlp_fc2'] = matrix(n_embd, 4 * n_embd, std=0)
params = [p for mat in state_dict.values() for row in mat for p in row]  # every number, in one list
print(f"num params: {len(params)}")

# %% Model
# The GPT: one token and its position in, a score for every possible next token out.
def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]

def softmax(logits):
    max_val = max(val.data for val in logits)  # subtracted first, so that exp() cannot overflow
    exps = [(val - max_val).exp() for val in logits]
    total = sum(exps)
    return [e / total for e in exps]

def rmsnorm(x):
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]

def gpt(token_id, pos_id, keys, values):  # GPT-2's, but RMSNorm, no biases, ReLU² not GeLU
    tok_emb = state_dict['wte'][token_id]  # token embedding
    pos_emb = state_dict['wpe'][pos_id]  # position embedding
    x = [t + p for t, p in zip(tok_emb, pos_emb)]  # joint token and position embedding
    x = rmsnorm(x)  # not redundant: the residual path below bypasses the block's own norms
    for li in range(n_layer):
        # 1) Multi-head attention: this position looks back at itself and every earlier one.
        x_residual = x
        x = rmsnorm(x)
        q = linear(x, state_dict[f'layer{li}.attn_wq'])
        k = linear(x, state_dict[f'layer{li}.attn_wk'])
        v = linear(x, state_dict[f'layer{li}.attn_wv'])
        keys[li].append(k)  # the KV cache: earlier positions' keys and values, kept, not recomputed
        values[li].append(v)
        x_attn = []
        for h in range(n_head):
            hs = h * head_dim
            q_h = q[hs:hs+head_dim]
            k_h = [ki[hs:hs+head_dim] for ki in keys[li]]
            v_h = [vi[hs:hs+head_dim] for vi in values[li]]
            attn_logits = [sum(q_h[j] * k_h[t][j] for j in range(head_dim)) / head_dim**0.5 for t in range(len(k_h))]
            attn_weights = softmax(attn_logits)
            head_out = [sum(attn_weights[t] * v_h[t][j] for t in range(len(v_h))) for j in range(head_dim)]
            x_attn.extend(head_out)
        x = linear(x_attn, state_dict[f'layer{li}.attn_wo'])
        x = [a + b for a, b in zip(x, x_residual)]
        # 2) MLP: widen 4x, squared ReLU, project back.
        x_residual = x
        x = rmsnorm(x)
        x = linear(x, state_dict[f'layer{li}.mlp_fc1'])
        x = [xi.relu() ** 2 for xi in x]
        x = linear(x, state_dict[f'layer{li}.mlp_fc2'])
        x = [a + b for a, b in zip(x, x_residual)]
    logits = linear(x, state_dict['lm_head'])
    return logits

# %% Training
# Learn, one name per step: its loss, backward() for every gradient, then Adam nudges each weight.
m = [0.0] * len(params)  # Adam's running mean of each gradient
v = [0.0] * len(params)  # and of each gradient's square
loss_history = []
gc.disable()  # the collector runs once a step, below, not every few thousand new Values
try:  # Ctrl-C stops training, and the model as it is makes the names
    for step in range(num_steps):
        doc = docs[step % len(docs)]
        tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]
        n = min(block_size, len(tokens) - 1)
        keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
        losses = []
        for pos_id in range(n):
            token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
            logits = gpt(token_id, pos_id, keys, values)
            probs = softmax(logits)
            if not probs[target_id].data > 0:  # 0 or NaN: the weights blew up, the run is lost
                sys.exit(f"microgpt: loss diverged at step {step+1}: lower learning_rate")
            loss_t = -probs[target_id].log()
            losses.append(loss_t)
        loss = (1 / n) * sum(losses)  # the mean surprise at each next character
        loss.backward()
        lr_t = learning_rate * 0.5 * (1 + math.cos(math.pi * step / num_steps))  # cosine decay to 0
        for i, p in enumerate(params):
            m[i] = beta1 * m[i] + (1 - beta1) * p.grad
            v[i] = beta2 * v[i] + (1 - beta2) * p.grad ** 2
            m_hat = m[i] / (1 - beta1 ** (step + 1))  # m and v start at 0: this corrects for it
            v_hat = v[i] / (1 - beta2 ** (step + 1))
            p.data -= lr_t * m_hat / (v_hat ** 0.5 + eps_adam)
            p.grad = 0
        loss_history.append(loss.data)
        print(f"step {step+1:4d} / {num_steps:4d} | loss {loss.data:.4f}")
        loss = losses = loss_t = logits = probs = keys = values = None  # this step's graph can go
        gc.collect(0)  # newest objects only: CPython freed the graph already, PyPy does it here
except KeyboardInterrupt: print(f"stopped by Ctrl-C after {len(loss_history)} steps")
recent = loss_history[-100:]  # one name's loss jumps about: a mean over many shows the progress
if recent: print(f"mean loss of the last {len(recent)} steps: {math.fsum(recent) / len(recent):.4f}"
                 f" (a uniform guess over {vocab_size} tokens: {math.log(vocab_size):.4f})")

# %% Inference
# Make up new names: from BOS, draw each next character from the model's probabilities, until BOS.
print("\n--- inference (new, hallucinated names) ---")
for sample_idx in range(20):
    keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
    token_id = BOS
    sample = []
    for pos_id in range(block_size):
        logits = gpt(token_id, pos_id, keys, values)
        probs = softmax([l / temperature for l in logits])
        token_id = random.choices(range(vocab_size), weights=[p.data for p in probs])[0]
        if token_id == BOS:
            break
        sample.append(uchars[token_id])
    print(f"sample {sample_idx+1:2d}: {''.join(sample)}")
    gc.collect(0)  # PyPy frees this name's graph only when its collector runs
gc.enable()  # on again for whatever runs next (left on in sampling, it slowed a big model)
