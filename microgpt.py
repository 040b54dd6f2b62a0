"""microgpt: train a tiny GPT on a list of names, then make up new ones. Plain Python, top to bottom."""
import gc, json, math, os, random, signal, sys

# %% Settings
# Everything a learner might change, in one place (README.md says what bigger settings cost).
input_path = 'input.txt'   # the dataset: one document (here, a name) per line, UTF-8
seed = 42                  # the same seed gives the same run, byte for byte
n_embd = 16                # width of each token's vector
n_head = 4                 # attention heads; each reads n_embd // n_head of the width
n_layer = 1                # transformer blocks
block_size = 8             # longest context in tokens; longer names are cut short in training
num_steps = 500            # training steps, one document each
learning_rate, beta1, beta2, eps_adam = 1e-2, 0.9, 0.95, 1e-8  # Adam
temperature = 0.5          # sampling: below 1 picks likelier characters, above 1 wilder ones
num_samples = 20
prompt = ''                # every sample starts with these characters (say 'ma'); '' for none
save_path = ''             # after training, write the model to this file (say 'model.json'); '' for none
load_path = ''             # sample from the model saved in this file instead of training one; '' to train
grad_log_every = 0         # at step 1 and every that many steps: each matrix's weight, gradient and update sizes
def check(ok, problem):  # fail in the first second, saying what is wrong, not minutes later with a traceback
    if not ok:
        sys.exit(f"microgpt: {problem}")
for name, number in [('n_embd', n_embd), ('n_head', n_head), ('n_layer', n_layer),
                     ('block_size', block_size), ('num_steps', num_steps), ('num_samples', num_samples)]:
    check(isinstance(number, int) and number > 0, f"{name} must be a positive whole number, not {number!r}")
check(n_embd % n_head == 0, f"n_embd ({n_embd}) must be divisible by n_head ({n_head})")
check(temperature > 0, f"temperature must be greater than 0, not {temperature!r}")
check(len(prompt) < block_size, f"prompt must have fewer characters than block_size ({block_size}), not {len(prompt)}")
check(not save_path or os.path.isdir(os.path.dirname(os.path.abspath(save_path))),
      f"cannot save to {save_path}: its folder does not exist")

# %% Data
# Read the documents to learn from: strip blank lines and stray spaces (and Windows line ends).
random.seed(seed)
names_url = 'https://raw.githubusercontent.com/karpathy/makemore/refs/heads/master/names.txt'
if not os.path.exists(input_path):  # not here (a notebook elsewhere, say): fetch the reference's names
    import urllib.request  # here, not at the top: most runs never need its memory
    print(f"{input_path} not found: downloading {names_url}")
    try:  # read all of it before writing any, so that a cut-off transfer leaves no half input.txt
        downloaded = urllib.request.urlopen(names_url, timeout=30).read()
    except Exception as e:  # no network, a timeout, a cut-off transfer: each ends the same way
        sys.exit(f"microgpt: {os.path.abspath(input_path)} is missing and downloading it failed ({e}); "
                 f"put a UTF-8 text file there, one name per line (git checkout input.txt restores ours)")
    with open(input_path, 'wb') as f:
        f.write(downloaded)
try:
    with open(input_path, 'rb') as f:
        raw = f.read()
    text = raw.decode('utf-8').removeprefix('\ufeff')  # a byte-order mark (as Notepad writes) is no name
except OSError as e:
    sys.exit(f"microgpt: cannot read {input_path}: {e.strerror}")
except UnicodeDecodeError as e:
    line_no = raw.count(b'\n', 0, e.start) + 1
    sys.exit(f"microgpt: {input_path} is not UTF-8 text: byte {raw[e.start]:#04x} at offset {e.start} (line {line_no})")
docs = [line.strip() for line in text.strip().split('\n') if line.strip()]
check(docs, f"{input_path} has no names in it (it is empty or blank); put one name per line")
random.shuffle(docs)
print(f"num docs: {len(docs)}")

# %% Tokenizer
# Turn text into integer ids and back: one id per distinct character.
uchars = sorted(set(''.join(docs)))  # ids 0..n-1
BOS = len(uchars)  # one extra token, Beginning Of Sequence, also marks where a name ends
vocab_size = len(uchars) + 1
print(f"vocab size: {vocab_size}")
check(set(prompt) <= set(uchars), f"prompt has characters not in {input_path}: {sorted(set(prompt) - set(uchars))}")

# %% Autograd
# A scalar that remembers how it was computed, so that backward() can find d(loss)/d(itself).
class Value:
    __slots__ = ('data', 'grad', '_children', '_local_grads', '_visited')  # no per-object dict: smaller, faster
    def __init__(self, data, children=(), local_grads=()):
        self.data = data                # the value, computed in the forward pass
        self.grad = 0.0                 # d(loss)/d(this value), filled in by backward()
        self._children = children       # the Values this one was computed from
        self._local_grads = local_grads  # d(this)/d(child) for each child
        self._visited = None            # set by backward() as it walks the graph
    # Each op: its value, its children, its local derivative for each (a plain number needs no node of its own).
    def __add__(self, other):
        if isinstance(other, Value):
            return Value(self.data + other.data, (self, other), (1.0, 1.0))
        return Value(self.data + other, (self,), (1.0,))
    def __mul__(self, other):
        if isinstance(other, Value):
            return Value(self.data * other.data, (self, other), (other.data, self.data))
        return Value(self.data * other, (self,), (other,))
    def __pow__(self, k): return Value(self.data ** k, (self,), (k * self.data ** (k - 1),))  # k: a number
    def log(self): return Value(math.log(self.data), (self,), (1 / self.data,))
    def exp(self): return Value(math.exp(self.data), (self,), (math.exp(self.data),))
    def relu(self): return Value(max(0, self.data), (self,), (float(self.data > 0),))
    def __neg__(self): return self * -1
    def __repr__(self): return f"Value(data={self.data}, grad={self.grad})"
    def __radd__(self, other): return self + other
    def __sub__(self, other): return self + (-other)
    def __rsub__(self, other): return other + (-self)
    def __rmul__(self, other): return self * other
    def __truediv__(self, other): return self * other ** -1
    def __rtruediv__(self, other): return other * self ** -1
    def backward(self):
        # Order the graph children first (depth-first post-order), with a stack: no recursion limit to hit.
        mark = object()  # new to this call: marking nodes with it is quicker than keeping a set of them
        self._visited = mark
        topo, stack = [], [(self, iter(self._children))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if child._visited is not mark:
                    child._visited = mark
                    stack.append((child, iter(child._children)))
                    break
            else:  # all children done
                stack.pop()
                topo.append(node)
        self.grad = 1.0  # then the chain rule, from the loss back to the leaves
        for node in reversed(topo):
            if node.grad:  # a zero gradient would pass on only zeros, which change nothing: skip it
                for child, local_grad in zip(node._children, node._local_grads):
                    child.grad += local_grad * node.grad

# %% Parameters
# The model's knowledge: matrices of random numbers that training will adjust.
head_dim = n_embd // n_head
matrix = lambda nout, nin, std=0.02: [[Value(random.gauss(0, std)) for _ in range(nin)] for _ in range(nout)]
state_dict = {'wte': matrix(vocab_size, n_embd), 'wpe': matrix(block_size, n_embd), 'lm_head': matrix(vocab_size, n_embd)}
for i in range(n_layer):
    state_dict[f'layer{i}.attn_wq'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wk'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wv'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wo'] = matrix(n_embd, n_embd, std=0)  # zero: each block starts as identity
    state_dict[f'layer{i}.mlp_fc1'] = matrix(4 * n_embd, n_embd)
    state_dict[f'layer{i}.mlp_fc2'] = matrix(n_embd, 4 * n_embd, std=0)
params = [p for mat in state_dict.values() for row in mat for p in row]
print(f"num params: {len(params)}")
config = {'vocab': ''.join(uchars), 'n_embd': n_embd, 'n_head': n_head, 'n_layer': n_layer, 'block_size': block_size}
if load_path:  # its weights replace the random ones, drawn all the same so that sampling draws as after training
    try:
        with open(load_path, encoding='utf-8') as f:
            saved = json.load(f)
        for name, here in config.items():
            check(saved[name] == here, f"cannot load {load_path}: {name} is {saved[name]!r} in the file, {here!r} here")
        weights = [float(x) for name in state_dict for row in saved['state_dict'][name] for x in row]
        check(len(weights) == len(params), f"cannot load {load_path}: {len(weights)} weights in the file, {len(params)} here")
        for p, x in zip(params, weights):
            p.data = x
    except OSError as e:
        sys.exit(f"microgpt: cannot load {load_path}: {e.strerror}")
    except (ValueError, KeyError, TypeError) as e:  # not JSON, or not a model (a key or a number missing)
        sys.exit(f"microgpt: cannot load {load_path}: not a microgpt model ({type(e).__name__}: {e})")

# %% Model
# The GPT: given one token, its position and a cache of earlier keys and values, score every next token.
def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]

def softmax(logits):
    max_val = max(val.data for val in logits)  # subtracting the max keeps exp() from overflowing
    exps = [(val - max_val).exp() for val in logits]
    total = sum(exps)
    return [e / total for e in exps]

def rmsnorm(x):
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]

def gpt(token_id, pos_id, keys, values):
    tok_emb = state_dict['wte'][token_id]  # token embedding
    pos_emb = state_dict['wpe'][pos_id]  # position embedding
    x = [t + p for t, p in zip(tok_emb, pos_emb)]  # joint token and position embedding
    x = rmsnorm(x)
    for li in range(n_layer):
        # 1) Multi-head attention: each position looks back at itself and every earlier one.
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
            q_h = q[hs:hs + head_dim]
            k_h = [ki[hs:hs + head_dim] for ki in keys[li]]
            v_h = [vi[hs:hs + head_dim] for vi in values[li]]
            attn_logits = [sum(q_h[j] * k_h[t][j] for j in range(head_dim)) / head_dim ** 0.5 for t in range(len(k_h))]
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
# Learn, one name per step: its loss, each parameter's share of the blame (backward), a nudge to each (Adam).
m, v = [0.0] * len(params), [0.0] * len(params)  # Adam's running means of each gradient and its square
if sys.implementation.name == 'cpython':  # speed: the graph has no cycles, so reference counting frees it
    gc.disable()  # and CPython's cycle collector can rest
# How each matrix learns: the size (RMS) of its weights, of its gradient, and of its update against its weights.
def log_gradients(step, before):  # before: each parameter's (weight, gradient), taken ahead of the update
    rms = lambda xs: math.sqrt(math.fsum(x * x for x in xs) / len(xs))
    print(f"  {f'at step {step+1}':<16}{'rms weight':>11}{'rms grad':>11}{'update/weight':>15}")
    for name, mat in state_dict.items():
        weights, grads = zip(*[before[p] for row in mat for p in row])
        updates = [before[p][0] - p.data for row in mat for p in row]  # what Adam just subtracted
        ratio = rms(updates) / rms(weights) if any(weights) else math.inf  # a zero matrix has no ratio yet
        print(f"  {name:<16}{rms(weights):11.1e}{rms(grads):11.1e}{ratio:15.1e}")
stop_requested, loss_history = False, []
def request_stop(signum, frame):  # Ctrl-C ends training after the step in progress; a second one stops at once
    global stop_requested
    if stop_requested:
        sys.exit("\nmicrogpt: stopped by a second Ctrl-C, before sampling")
    stop_requested = True
previous_handler = signal.signal(signal.SIGINT, request_stop)
try:
    for step in range(0 if load_path else num_steps):  # a loaded model is trained already
        doc = docs[step % len(docs)]
        tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]
        n = min(block_size, len(tokens) - 1)
        keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
        losses = []
        for pos_id in range(n):
            token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
            probs = softmax(gpt(token_id, pos_id, keys, values))
            losses.append(-probs[target_id].log())
        loss = (1 / n) * sum(losses)
        loss.backward()
        log_now = grad_log_every and (step == 0 or (step + 1) % grad_log_every == 0)
        before = {p: (p.data, p.grad) for p in params} if log_now else None  # for log_gradients
        lr_t = learning_rate * 0.5 * (1 + math.cos(math.pi * step / num_steps))  # cosine decay to 0
        for i, p in enumerate(params):
            m[i] = beta1 * m[i] + (1 - beta1) * p.grad
            v[i] = beta2 * v[i] + (1 - beta2) * p.grad ** 2
            m_hat = m[i] / (1 - beta1 ** (step + 1))  # m and v start at 0: bias correction scales them up
            v_hat = v[i] / (1 - beta2 ** (step + 1))
            p.data -= lr_t * m_hat / (v_hat ** 0.5 + eps_adam)
            p.grad = 0.0
        print(f"step {step+1:4d} / {num_steps:4d} | loss {loss.data:.4f}")
        loss_history.append(loss.data)
        if log_now:
            log_gradients(step, before)
        loss = losses = probs = keys = values = None  # let go of the graph now: the next step reuses its memory
        if stop_requested:
            print(f"stopped by Ctrl-C after step {step+1} of {num_steps}")
            break
finally:  # the handler is ours only while training runs (in a notebook too)
    signal.signal(signal.SIGINT, previous_handler)
# One name's loss jumps about; a mean over many steps shows progress (fsum: the same digits on any Python).
recent = loss_history[-100:]
if recent:
    print(f"mean loss of the last {len(recent)} steps: {math.fsum(recent) / len(recent):.4f} "
          f"(a uniform guess over {vocab_size} tokens: {math.log(vocab_size):.4f})")
if save_path:  # written whole to a new file, then put in place: a failed save never leaves half a file
    with open(save_path + '.tmp', 'w', encoding='utf-8') as f:
        json.dump({**config, 'state_dict': {name: [[p.data for p in row] for row in mat]
                                           for name, mat in state_dict.items()}}, f)
    os.replace(save_path + '.tmp', save_path)
    print(f"saved the trained model to {save_path}")

# %% Inference
# Make up new names: after BOS (and the prompt), draw each next character from the model's probabilities.
print("\n--- inference (new, hallucinated names) ---")
for sample_idx in range(num_samples):
    keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
    token_id, sample = BOS, list(prompt)
    for pos_id in range(block_size):
        logits = gpt(token_id, pos_id, keys, values)
        if pos_id < len(prompt):  # the prompt's characters are read, not drawn
            token_id = uchars.index(prompt[pos_id])
            continue
        probs = softmax([l / temperature for l in logits])
        token_id = random.choices(range(vocab_size), weights=[p.data for p in probs])[0]
        if token_id == BOS:
            break
        sample.append(uchars[token_id])
    print(f"sample {sample_idx+1:2d}: {''.join(sample)}")
gc.enable()  # paused for speed since Training
