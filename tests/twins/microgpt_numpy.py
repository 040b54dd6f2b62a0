"""microgpt.py's model in NumPy, with the backward pass written out by hand: the same settings, the
same random draws, the same printed lines, in about a second. Each cell does what the cell of the
same name in microgpt.py does, on whole matrices. Where microgpt.py's Value finds every gradient by
the chain rule one number at a time, and PyTorch hides it in loss.backward(), here each operation
has a backward function beside its forward one, and backward() calls them in the reverse order of
the forward pass: the chain rule, a matrix at a time. Run it from the repository root:
python tests/twins/microgpt_numpy.py (it needs NumPy: pip install numpy)."""
import math, random
import numpy as np

# %% Settings
# microgpt.py's settings and defaults; no checks: here a mistake shows itself within seconds.
input_path = 'input.txt'   # the dataset: one document (here, a name) per line, UTF-8
n_embd = 16                # width of the network: each token's vector
n_head = 4                 # attention heads; each reads n_embd // n_head of the width
n_layer = 1                # depth of the network: transformer blocks
temperature = 0.5          # sampling: below 1 picks likelier characters, above 1 wilder ones
block_size = 8             # longest context in tokens; longer names are cut short in training
num_steps = 500            # training steps, one document each
learning_rate, beta1, beta2, eps_adam = 1e-2, 0.9, 0.95, 1e-8  # Adam

# %% Data
# The same documents in the same shuffled order.
random.seed(42)  # the same seed gives the same run, byte for byte
docs = [l.strip() for l in open(input_path, encoding='utf-8-sig') if l.strip()]  # -sig: skips a BOM
random.shuffle(docs)
print(f"num docs: {len(docs)}")

# %% Tokenizer
# The same ids: one for each distinct character, and BOS.
uchars = sorted(set(''.join(docs)))  # ids 0..n-1
BOS = len(uchars)  # Beginning Of Sequence: starts every name, and also marks where it ends
vocab_size = len(uchars) + 1
print(f"vocab size: {vocab_size}")

# %% Autograd
# No autograd: each operation of the model, forward and backward side by side. A forward function
# returns its result and what its backward needs; backward takes d(loss)/d(result), written dy, and
# returns d(loss)/d(each input). The one-line comments give each derivative in matrix form.
# x is (positions, width): one row per position, as microgpt.py's x is one position's vector.

def linear(x, w):  # y = x @ w.T, microgpt.py's linear() for every position at once
    return x @ w.T

def linear_backward(dy, x, w):  # dx = dy @ w;  dw = dy.T @ x
    return dy @ w, dy.T @ x

def rmsnorm(x):  # y = x * s, with s = (mean(x**2) + 1e-5) ** -0.5 for each row
    s = (np.mean(x * x, axis=-1, keepdims=True) + 1e-5) ** -0.5
    return x * s, s

def rmsnorm_backward(dy, x, s):  # dx = s * dy - x * s**3 * sum(dy * x) / width, for each row
    return s * dy - x * s**3 * np.sum(dy * x, axis=-1, keepdims=True) / x.shape[-1]

def relu_squared(h):  # y = max(h, 0) ** 2
    return np.maximum(h, 0) ** 2

def relu_squared_backward(dy, h):  # dh = dy * 2 * max(h, 0)
    return dy * 2 * np.maximum(h, 0)

def softmax(z):  # each row: exp(z - max) / sum(exp(z - max)); less the max, exp cannot overflow
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)

def softmax_backward(dp, p):  # dz = p * (dp - sum(dp * p)), for each row
    return p * (dp - np.sum(dp * p, axis=-1, keepdims=True))

def attention(q, k, v):  # each head: p = softmax(q @ k.T / sqrt(head_dim)), causal; y = p @ v
    n = q.shape[0]
    q, k, v = (t.reshape(n, n_head, head_dim).transpose(1, 0, 2) for t in (q, k, v))  # heads first
    z = q @ k.transpose(0, 2, 1) / head_dim**0.5
    z = np.where(np.tril(np.ones((n, n), dtype=bool)), z, -np.inf)  # t sees 0..t, as the KV cache
    p = softmax(z)  # attn_weights
    y = (p @ v).transpose(1, 0, 2).reshape(n, n_embd)  # each head's head_out, side by side: x_attn
    return y, (q, k, v, p)

def attention_backward(dy, q, k, v, p):  # dv = p.T @ dy; dz = softmax_backward(dy @ v.T, p);
    # dq = dz @ k / sqrt(head_dim); dk = dz.T @ q / sqrt(head_dim); each head on its own
    n = dy.shape[0]
    dy = dy.reshape(n, n_head, head_dim).transpose(1, 0, 2)
    dv = p.transpose(0, 2, 1) @ dy
    dz = softmax_backward(dy @ v.transpose(0, 2, 1), p)  # the masked entries have p = 0, so dz = 0
    dq = dz @ k / head_dim**0.5
    dk = dz.transpose(0, 2, 1) @ q / head_dim**0.5
    return (t.transpose(1, 0, 2).reshape(n, n_embd) for t in (dq, dk, dv))

def cross_entropy(logits, targets):  # loss = mean of -log(softmax(logits)[target]) over positions
    probs = softmax(logits)
    return -np.mean(np.log(probs[np.arange(len(targets)), targets])), probs

def cross_entropy_backward(probs, targets):  # dlogits = (probs - onehot(targets)) / positions
    dlogits = probs.copy()
    dlogits[np.arange(len(targets)), targets] -= 1
    return dlogits / len(targets)

# %% Parameters
# The same random.gauss draws in the same order as microgpt.py's matrix(), zeros included.
head_dim = n_embd // n_head  # the width each head reads

def matrix(nout, nin, std=0.02):
    return np.array([[random.gauss(0, std) for _ in range(nin)] for _ in range(nout)])  # float64

state_dict = {'wte': matrix(vocab_size, n_embd), 'wpe': matrix(block_size, n_embd),
              'lm_head': matrix(vocab_size, n_embd)}
for i in range(n_layer):
    state_dict[f'layer{i}.attn_wq'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wk'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wv'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wo'] = matrix(n_embd, n_embd, std=0)  # zero: blocks start as no-ops
    state_dict[f'layer{i}.mlp_fc1'] = matrix(4 * n_embd, n_embd)
    state_dict[f'layer{i}.mlp_fc2'] = matrix(n_embd, 4 * n_embd, std=0)
print(f"num params: {sum(w.size for w in state_dict.values())}")

# %% Model
# The GPT over a whole name at once (row t of the logits scores the token after position t), and
# its backward pass: the same steps in reverse, each handing the gradient to the one before it.
def gpt(token_ids):
    """The logits, and every intermediate the backward pass needs (the cache)."""
    sd, n = state_dict, len(token_ids)
    tok_emb = sd['wte'][token_ids]  # token embeddings, a row per position
    pos_emb = sd['wpe'][:n]  # position embeddings
    x, s = rmsnorm(tok_emb + pos_emb)
    cache = [(tok_emb + pos_emb, s)]
    for li in range(n_layer):
        # 1) Multi-head attention
        x_residual = x
        xn, s1 = rmsnorm(x)
        q, k, v = (linear(xn, sd[f'layer{li}.attn_w{c}']) for c in 'qkv')
        x_attn, heads = attention(q, k, v)
        attention_cache = (x_residual, s1, xn, heads, x_attn)
        x = linear(x_attn, sd[f'layer{li}.attn_wo']) + x_residual
        # 2) MLP: widen 4x, squared ReLU, project back
        x_residual = x
        xn2, s2 = rmsnorm(x)
        h = linear(xn2, sd[f'layer{li}.mlp_fc1'])
        hidden = relu_squared(h)
        x = linear(hidden, sd[f'layer{li}.mlp_fc2']) + x_residual
        cache.append(attention_cache + (x_residual, s2, xn2, h, hidden))
    logits = linear(x, sd['lm_head'])
    cache.append(x)
    return logits, cache

def backward(dlogits, token_ids, cache):
    """d(loss)/d(each matrix of state_dict), from d(loss)/d(logits): the forward pass in reverse."""
    sd, n = state_dict, len(token_ids)
    grads = {name: np.zeros_like(w) for name, w in sd.items()}
    dx, grads['lm_head'] = linear_backward(dlogits, cache[-1], sd['lm_head'])
    for li in reversed(range(n_layer)):
        x_in, s1, xn, (q, k, v, p), x_attn, x_mid, s2, xn2, h, hidden = cache[1 + li]
        # 2) MLP, backward: the residual passes dx through unchanged, and adds the MLP's part
        dhidden, grads[f'layer{li}.mlp_fc2'] = linear_backward(dx, hidden, sd[f'layer{li}.mlp_fc2'])
        dxn2, grads[f'layer{li}.mlp_fc1'] = linear_backward(relu_squared_backward(dhidden, h), xn2,
                                                            sd[f'layer{li}.mlp_fc1'])
        dx = dx + rmsnorm_backward(dxn2, x_mid, s2)
        # 1) Attention, backward: the same, through the heads
        dx_attn, grads[f'layer{li}.attn_wo'] = linear_backward(dx, x_attn, sd[f'layer{li}.attn_wo'])
        dxn = 0
        for c, dt in zip('qkv', attention_backward(dx_attn, q, k, v, p)):
            w = f'layer{li}.attn_w{c}'
            dxn_c, grads[w] = linear_backward(dt, xn, sd[w])
            dxn = dxn + dxn_c  # xn feeds q, k and v: their gradients add up
        dx = dx + rmsnorm_backward(dxn, x_in, s1)
    x0, s0 = cache[0]
    dx0 = rmsnorm_backward(dx, x0, s0)
    np.add.at(grads['wte'], token_ids, dx0)  # a token used twice gets both rows' gradients
    grads['wpe'][:n] = dx0
    return grads

# %% Training
# The same loop as microgpt.py's: one name per step, its loss, backward(), and Adam on whole arrays.
m = {name: np.zeros_like(w) for name, w in state_dict.items()}  # Adam's mean of each gradient
v = {name: np.zeros_like(w) for name, w in state_dict.items()}  # and of each gradient's square
loss_history = []
try:
    for step in range(num_steps):
        doc = docs[step % len(docs)]
        tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]
        n = min(block_size, len(tokens) - 1)
        logits, cache = gpt(tokens[:n])
        loss, probs = cross_entropy(logits, tokens[1:n + 1])
        grads = backward(cross_entropy_backward(probs, tokens[1:n + 1]), tokens[:n], cache)
        lr_t = learning_rate * 0.5 * (1 + math.cos(math.pi * step / num_steps))  # cosine decay to 0
        for name, w in state_dict.items():  # microgpt.py's update, for a whole matrix at once
            m[name] = beta1 * m[name] + (1 - beta1) * grads[name]
            v[name] = beta2 * v[name] + (1 - beta2) * grads[name] ** 2
            m_hat = m[name] / (1 - beta1 ** (step + 1))  # m and v start at 0: this corrects for it
            v_hat = v[name] / (1 - beta2 ** (step + 1))
            w -= lr_t * m_hat / (v_hat ** 0.5 + eps_adam)
        loss_history.append(float(loss))
        print(f"step {step+1:4d} / {num_steps:4d} | loss {loss:.4f}")
except KeyboardInterrupt:  # Ctrl-C: training stops here, and the model as it is makes the names
    print(f"stopped by Ctrl-C after {len(loss_history)} steps")
recent = loss_history[-100:]  # one name's loss jumps about: a mean over many shows the progress
if recent: print(f"mean loss of the last {len(recent)} steps: {math.fsum(recent) / len(recent):.4f}"
                 f" (a uniform guess over {vocab_size} tokens: {math.log(vocab_size):.4f})")

# %% Inference
# The same draws: from BOS, each next character from the model's probabilities, until BOS.
print("\n--- inference (new, hallucinated names) ---")
for sample_idx in range(20):
    tokens, sample = [BOS], []
    for pos_id in range(block_size):
        logits = gpt(tokens)[0][-1]  # the last position's scores (microgpt.py caches the rest)
        probs = softmax(logits / temperature)
        token_id = random.choices(range(vocab_size), weights=probs.tolist())[0]
        if token_id == BOS:
            break
        tokens.append(token_id)
        sample.append(uchars[token_id])
    print(f"sample {sample_idx+1:2d}: {''.join(sample)}")
