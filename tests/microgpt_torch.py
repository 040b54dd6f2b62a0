"""microgpt.py's model in PyTorch: the same settings, the same random draws, the same printed lines,
in seconds. Each cell does what the cell of the same name in microgpt.py does, on whole matrices at
once. Run it from the repository root: python tests/microgpt_torch.py (it needs `pip install torch`)."""
import json, math, os, random, sys
import torch

# %% Settings
# microgpt.py's settings, with the same defaults, and two of PyTorch's own.
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
device = 'cpu'             # 'cuda' or 'mps' where the machine has one
dtype = torch.float64      # float64 prints microgpt.py's lines; float32 is faster, but its lines may differ
def check(ok, problem):  # the same checks and messages as microgpt.py's
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
# The same documents in the same shuffled order (no download here: a missing file is named).
random.seed(seed)
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
uchars = sorted(set(''.join(docs)))  # ids 0..n-1
BOS = len(uchars)  # one extra token, Beginning Of Sequence, also marks where a name ends
vocab_size = len(uchars) + 1
print(f"vocab size: {vocab_size}")
check(set(prompt) <= set(uchars), f"prompt has characters not in {input_path}: {sorted(set(prompt) - set(uchars))}")

# %% Autograd
# PyTorch's autograd does what Value did: a tensor made from parameters remembers how, and
# loss.backward() applies the chain rule back to them, one whole matrix at a time.

# %% Parameters
# The same random.gauss draws in the same order as microgpt.py's matrix(), zeros included.
head_dim = n_embd // n_head
def matrix(nout, nin, std=0.02):
    rows = [[random.gauss(0, std) for _ in range(nin)] for _ in range(nout)]
    return torch.tensor(rows, dtype=dtype, device=device, requires_grad=True)
state_dict = {'wte': matrix(vocab_size, n_embd), 'wpe': matrix(block_size, n_embd), 'lm_head': matrix(vocab_size, n_embd)}
for i in range(n_layer):
    state_dict[f'layer{i}.attn_wq'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wk'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wv'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wo'] = matrix(n_embd, n_embd, std=0)  # zero: each block starts as identity
    state_dict[f'layer{i}.mlp_fc1'] = matrix(4 * n_embd, n_embd)
    state_dict[f'layer{i}.mlp_fc2'] = matrix(n_embd, 4 * n_embd, std=0)
params = list(state_dict.values())  # whole matrices here; microgpt.py's params are their entries
num_params = sum(p.numel() for p in params)
print(f"num params: {num_params}")
# The same file format as microgpt.py's: a model saved by either file loads in the other.
config = {'vocab': ''.join(uchars), 'n_embd': n_embd, 'n_head': n_head, 'n_layer': n_layer, 'block_size': block_size}
if load_path:
    try:
        with open(load_path, encoding='utf-8') as f:
            saved = json.load(f)
        for name, here in config.items():
            check(saved[name] == here, f"cannot load {load_path}: {name} is {saved[name]!r} in the file, {here!r} here")
        weights = [float(x) for name in state_dict for row in saved['state_dict'][name] for x in row]
        check(len(weights) == num_params, f"cannot load {load_path}: {len(weights)} weights in the file, {num_params} here")
        with torch.no_grad():  # the numbers in microgpt.py's order of params, matrix after matrix
            for p, saved_p in zip(params, torch.tensor(weights, dtype=dtype).split([p.numel() for p in params])):
                p.copy_(saved_p.view(p.shape))
    except OSError as e:
        sys.exit(f"microgpt: cannot load {load_path}: {e.strerror}")
    except (ValueError, KeyError, TypeError) as e:  # not JSON, or not a model (a key or a number missing)
        sys.exit(f"microgpt: cannot load {load_path}: not a microgpt model ({type(e).__name__}: {e})")

# %% Model
# The GPT over a whole sequence at once: row t of the result scores the token after position t.
def rmsnorm(x):  # each row (one position's vector) scaled to root mean square 1
    return x * (x.pow(2).mean(-1, keepdim=True) + 1e-5) ** -0.5

def gpt(token_ids):
    n = len(token_ids)
    tok_emb = state_dict['wte'][token_ids]  # token embeddings, a row per position
    pos_emb = state_dict['wpe'][:n]  # position embeddings
    x = rmsnorm(tok_emb + pos_emb)
    # Position t may look at positions 0..t only: what microgpt.py's KV cache holds when it reaches t.
    causal = torch.ones(n, n, dtype=torch.bool, device=device).tril()
    for li in range(n_layer):
        # 1) Multi-head attention
        x_residual = x
        x = rmsnorm(x)
        q = x @ state_dict[f'layer{li}.attn_wq'].T  # linear(), for every position at once
        k = x @ state_dict[f'layer{li}.attn_wk'].T
        v = x @ state_dict[f'layer{li}.attn_wv'].T
        q, k, v = (t.view(n, n_head, head_dim).transpose(0, 1) for t in (q, k, v))  # the loop over heads
        attn_logits = (q @ k.transpose(1, 2)) / head_dim ** 0.5  # every query against every key
        attn_weights = torch.softmax(attn_logits.masked_fill(~causal, float('-inf')), dim=-1)
        head_out = attn_weights @ v
        x_attn = head_out.transpose(0, 1).reshape(n, n_embd)  # the heads side by side, as x_attn.extend()
        x = x_attn @ state_dict[f'layer{li}.attn_wo'].T + x_residual
        # 2) MLP: widen 4x, squared ReLU, project back
        x_residual = x
        x = torch.relu(rmsnorm(x) @ state_dict[f'layer{li}.mlp_fc1'].T) ** 2
        x = x @ state_dict[f'layer{li}.mlp_fc2'].T + x_residual
    logits = x @ state_dict['lm_head'].T
    return logits

# %% Training
# The same loop as microgpt.py's: one name per step, its loss, backward(), and Adam written out.
m = [torch.zeros_like(p) for p in params]  # Adam's running means of each gradient and its square
v = [torch.zeros_like(p) for p in params]
loss_history = []
def log_gradients(step, before):  # microgpt.py's report; before: each matrix's (weights, gradient) ahead of the update
    rms = lambda t: t.pow(2).mean().sqrt().item()
    print(f"  {f'at step {step+1}':<16}{'rms weight':>11}{'rms grad':>11}{'update/weight':>15}")
    for (name, p), (weights, grad) in zip(state_dict.items(), before):
        ratio = rms(weights - p) / rms(weights) if weights.any() else math.inf  # a zero matrix has no ratio yet
        print(f"  {name:<16}{rms(weights):11.1e}{rms(grad):11.1e}{ratio:15.1e}")
for step in range(0 if load_path else num_steps):  # a loaded model is trained already
    doc = docs[step % len(docs)]
    tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]
    n = min(block_size, len(tokens) - 1)
    probs = torch.softmax(gpt(tokens[:n]), dim=-1)
    losses = -probs[torch.arange(n), tokens[1:n + 1]].log()  # each position's surprise at the next token
    loss = (1 / n) * losses.sum()
    loss.backward()
    log_now = grad_log_every and (step == 0 or (step + 1) % grad_log_every == 0)
    before = [(p.detach().clone(), p.grad.clone()) for p in params] if log_now else None  # for log_gradients
    lr_t = learning_rate * 0.5 * (1 + math.cos(math.pi * step / num_steps))  # cosine decay to 0
    with torch.no_grad():
        for i, p in enumerate(params):  # microgpt.py's update, for a whole matrix at once
            m[i] = beta1 * m[i] + (1 - beta1) * p.grad
            v[i] = beta2 * v[i] + (1 - beta2) * p.grad ** 2
            m_hat = m[i] / (1 - beta1 ** (step + 1))  # m and v start at 0: bias correction scales them up
            v_hat = v[i] / (1 - beta2 ** (step + 1))
            p -= lr_t * m_hat / (v_hat ** 0.5 + eps_adam)
            p.grad = None
    print(f"step {step+1:4d} / {num_steps:4d} | loss {loss.item():.4f}")
    loss_history.append(loss.item())
    if log_now:
        with torch.no_grad():
            log_gradients(step, before)
recent = loss_history[-100:]
if recent:
    print(f"mean loss of the last {len(recent)} steps: {math.fsum(recent) / len(recent):.4f} "
          f"(a uniform guess over {vocab_size} tokens: {math.log(vocab_size):.4f})")
if save_path:  # written whole to a new file, then put in place: a failed save never leaves half a file
    with open(save_path + '.tmp', 'w', encoding='utf-8') as f:
        json.dump({**config, 'state_dict': {name: p.tolist() for name, p in state_dict.items()}}, f)
    os.replace(save_path + '.tmp', save_path)
    print(f"saved the trained model to {save_path}")

# %% Inference
# The same draws: after BOS (and the prompt), each next character from the model's probabilities.
print("\n--- inference (new, hallucinated names) ---")
with torch.no_grad():
    for sample_idx in range(num_samples):
        tokens, sample = [BOS] + [uchars.index(ch) for ch in prompt], list(prompt)
        for pos_id in range(len(prompt), block_size):
            logits = gpt(tokens)[-1]  # the last position's scores (microgpt.py caches the others' keys)
            probs = torch.softmax(logits / temperature, dim=-1)
            token_id = random.choices(range(vocab_size), weights=probs.tolist())[0]
            if token_id == BOS:
                break
            tokens.append(token_id)
            sample.append(uchars[token_id])
        print(f"sample {sample_idx+1:2d}: {''.join(sample)}")
