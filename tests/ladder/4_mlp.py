import gc, math, os, random, sys
def check(ok, problem):  # a mistake ends the run with one line that names it, not a traceback
    if not ok:
        sys.exit(f"microgpt: {problem}")  # a SyntaxError here? This file needs Python 3.6 or newer

# %% Settings
# Change these to change the run; each is checked before any work starts.
input_path = 'input.txt'   # the dataset: one document (here, a name) per line, UTF-8
n_embd = 16                # width of the network: each token's vector
n_layer = 1                # depth of the network: transformer blocks
temperature = 0.5          # sampling: below 1 picks likelier characters, above 1 wilder ones
# training
block_size = 8             # longest context in tokens; longer names are cut short in training
num_steps = 500            # training steps, one document each
learning_rate = 0.05       # each step moves every weight by this times its gradient
for name, x in [('n_embd', n_embd), ('n_layer', n_layer),
                ('block_size', block_size), ('num_steps', num_steps)]:
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
        del build_topo  # it refers to itself: let go, the graph is freed once unused
        self.grad = 1  # then the chain rule, from the loss back to every parameter
        for v in reversed(topo):
            for child, local_grad in zip(v._children, v._local_grads):
                child.grad += local_grad * v.grad

# %% Parameters
# What the model knows, if it fits: matrices of small random numbers, which training adjusts.
ram = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') if os.name == 'posix' else 8e9
need = 400 * block_size * n_embd * (n_layer * (24 * n_embd + 3 * block_size) + 2 * vocab_size)
sys.setrecursionlimit(1000 + (n_layer + 1) * (8 * n_embd + 2 * block_size + 20))  # for backward()
check(need < ram and sys.getrecursionlimit() < 11000, "too big to fit: lower n_embd or n_layer")
matrix = lambda nout, nin, std=0.02: [[Value(random.gauss(0, std)) for _ in range(nin)] for _ in range(nout)]
state_dict = {'wte': matrix(vocab_size, n_embd), 'wpe': matrix(block_size, n_embd), 'lm_head': matrix(vocab_size, n_embd)}
for i in range(n_layer):
    state_dict[f'layer{i}.mlp_fc1'] = matrix(4 * n_embd, n_embd)
    state_dict[f'layer{i}.mlp_fc2'] = matrix(n_embd, 4 * n_embd, std=0)
params = [p for mat in state_dict.values() for row in mat for p in row]  # every number, in one list
print(f"num params: {len(params)}")

# %% Model
# A GPT without attention yet: one token and its position in, a score for every next token out.
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

def gpt(token_id, pos_id):
    tok_emb = state_dict['wte'][token_id]  # token embedding
    pos_emb = state_dict['wpe'][pos_id]  # position embedding
    x = [t + p for t, p in zip(tok_emb, pos_emb)]  # joint token and position embedding
    x = rmsnorm(x)  # not redundant: the residual path below bypasses the block's own norms
    for li in range(n_layer):
        # MLP: widen 4x, squared ReLU, project back.
        x_residual = x
        x = rmsnorm(x)
        x = linear(x, state_dict[f'layer{li}.mlp_fc1'])
        x = [xi.relu() ** 2 for xi in x]
        x = linear(x, state_dict[f'layer{li}.mlp_fc2'])
        x = [a + b for a, b in zip(x, x_residual)]
    logits = linear(x, state_dict['lm_head'])
    return logits

# %% Training
# Learn, one name per step: its loss, each weight's gradient, then a step downhill for each.
loss_history = []
gc.disable()  # the collector runs once a step, below, not every few thousand new Values
try:
    for step in range(num_steps):
        doc = docs[step % len(docs)]
        tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]
        n = min(block_size, len(tokens) - 1)
        losses = []
        for pos_id in range(n):
            token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
            logits = gpt(token_id, pos_id)
            probs = softmax(logits)
            check(probs[target_id].data > 0, f"loss diverged at step {step+1}: lower learning_rate")
            loss_t = -probs[target_id].log()
            losses.append(loss_t)
        loss = (1 / n) * sum(losses)  # the mean surprise at each next character
        loss.backward()
        for p in params:  # gradient descent: each weight moves a little downhill
            p.data -= learning_rate * p.grad
            p.grad = 0
        loss_history.append(loss.data)
        print(f"step {step+1:4d} / {num_steps:4d} | loss {loss.data:.4f}")
        loss = losses = loss_t = logits = probs = None  # this step's graph can go
        gc.collect(0)  # newest objects only: CPython freed the graph already, PyPy does it here
except KeyboardInterrupt:  # Ctrl-C: training stops here, and the model as it is makes the names
    print(f"stopped by Ctrl-C after {len(loss_history)} steps")
finally:  # however the cell ends: a notebook runs on
    gc.enable()
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
        logits = gpt(token_id, pos_id)
        probs = softmax([l / temperature for l in logits])
        token_id = random.choices(range(vocab_size), weights=[p.data for p in probs])[0]
        if token_id == BOS:
            break
        sample.append(uchars[token_id])
    print(f"sample {sample_idx+1:2d}: {''.join(sample)}")
