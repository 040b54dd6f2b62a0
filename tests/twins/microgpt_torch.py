"""microgpt.py's model in PyTorch: the same settings, the same random draws, the same printed lines,
in seconds. Each cell does what the cell of the same name in microgpt.py does, on whole matrices at
once. Run it from the repository root: python tests/twins/microgpt_torch.py (README.md says how to
install PyTorch)."""
import math, random, warnings
warnings.filterwarnings('ignore', message='Failed to initialize NumPy')  # we need no NumPy
import torch

# %% Settings
# microgpt.py's settings and defaults, and two of PyTorch's; no checks: here a mistake shows itself
# within seconds.
input_path = 'input.txt'   # the dataset: one document (here, a name) per line, UTF-8
n_embd = 16                # width of the network: each token's vector
n_head = 4                 # attention heads; each reads n_embd // n_head of the width
n_layer = 1                # depth of the network: transformer blocks
temperature = 0.5          # sampling: below 1 picks likelier characters, above 1 wilder ones
block_size = 8             # longest context in tokens; longer names are cut short in training
num_steps = 500            # training steps, one document each
learning_rate, beta1, beta2, eps_adam = 1e-2, 0.9, 0.95, 1e-8  # Adam
device = 'cpu'             # 'cuda' or 'mps' where the machine has one
dtype = torch.float64      # float64 prints microgpt.py's lines; float32 is faster, and may not
torch.set_num_threads(1)  # matrices this small gain nothing from more threads, and lose when busy

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
# PyTorch's autograd does what Value did: a tensor made from parameters remembers how, and
# loss.backward() applies the chain rule back to them, one whole matrix at a time.

# %% Parameters
# The same random.gauss draws in the same order as microgpt.py's matrix(), zeros included.
head_dim = n_embd // n_head  # the width each head reads

def matrix(nout, nin, std=0.02):
    rows = [[random.gauss(0, std) for _ in range(nin)] for _ in range(nout)]
    return torch.tensor(rows, dtype=dtype, device=device, requires_grad=True)

state_dict = {'wte': matrix(vocab_size, n_embd), 'wpe': matrix(block_size, n_embd),
              'lm_head': matrix(vocab_size, n_embd)}
for i in range(n_layer):
    state_dict[f'layer{i}.attn_wq'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wk'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wv'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wo'] = matrix(n_embd, n_embd, std=0)  # zero: blocks start as no-ops
    state_dict[f'layer{i}.mlp_fc1'] = matrix(4 * n_embd, n_embd)
    state_dict[f'layer{i}.mlp_fc2'] = matrix(n_embd, 4 * n_embd, std=0)
params = list(state_dict.values())  # whole matrices here; microgpt.py's params are their entries
print(f"num params: {sum(p.numel() for p in params)}")

# %% Model
# The GPT over a whole sequence at once: row t of the result scores the token after position t.
def rmsnorm(x):  # each row (one position's vector) scaled to root mean square 1
    return x * (x.pow(2).mean(-1, keepdim=True) + 1e-5) ** -0.5

def gpt(token_ids):
    n = len(token_ids)
    tok_emb = state_dict['wte'][token_ids]  # token embeddings, a row per position
    pos_emb = state_dict['wpe'][:n]  # position embeddings
    x = rmsnorm(tok_emb + pos_emb)
    # Position t may look at positions 0..t only: what microgpt.py's KV cache holds at t.
    causal = torch.ones(n, n, dtype=torch.bool, device=device).tril()
    for li in range(n_layer):
        # 1) Multi-head attention
        x_residual = x
        x = rmsnorm(x)
        q = x @ state_dict[f'layer{li}.attn_wq'].T  # linear(), for every position at once
        k = x @ state_dict[f'layer{li}.attn_wk'].T
        v = x @ state_dict[f'layer{li}.attn_wv'].T
        q, k, v = (t.view(n, n_head, head_dim).transpose(0, 1) for t in (q, k, v))  # heads first
        attn_logits = (q @ k.transpose(1, 2)) / head_dim ** 0.5  # every query against every key
        attn_weights = torch.softmax(attn_logits.masked_fill(~causal, float('-inf')), dim=-1)
        head_out = attn_weights @ v
        x_attn = head_out.transpose(0, 1).reshape(n, n_embd)  # side by side, as x_attn.extend()
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
try:
    for step in range(num_steps):
        doc = docs[step % len(docs)]
        tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]
        n = min(block_size, len(tokens) - 1)
        probs = torch.softmax(gpt(tokens[:n]), dim=-1)
        losses = -probs[torch.arange(n), tokens[1:n + 1]].log()  # each position's surprise
        loss = (1 / n) * losses.sum()
        loss.backward()
        lr_t = learning_rate * 0.5 * (1 + math.cos(math.pi * step / num_steps))  # cosine decay to 0
        with torch.no_grad():
            for i, p in enumerate(params):  # microgpt.py's update, for a whole matrix at once
                m[i] = beta1 * m[i] + (1 - beta1) * p.grad
                v[i] = beta2 * v[i] + (1 - beta2) * p.grad ** 2
                m_hat = m[i] / (1 - beta1 ** (step + 1))  # m and v start at 0: this corrects for it
                v_hat = v[i] / (1 - beta2 ** (step + 1))
                p -= lr_t * m_hat / (v_hat ** 0.5 + eps_adam)
                p.grad = None
        loss_history.append(loss.item())
        print(f"step {step+1:4d} / {num_steps:4d} | loss {loss.item():.4f}")
except KeyboardInterrupt:  # Ctrl-C: training stops here, and the model as it is makes the names
    print(f"stopped by Ctrl-C after {len(loss_history)} steps")
recent = loss_history[-100:]  # one name's loss jumps about: a mean over many shows the progress
if recent: print(f"mean loss of the last {len(recent)} steps: {math.fsum(recent) / len(recent):.4f}"
                 f" (a uniform guess over {vocab_size} tokens: {math.log(vocab_size):.4f})")

# %% Inference
# The same draws: from BOS, each next character from the model's probabilities, until BOS.
print("\n--- inference (new, hallucinated names) ---")
with torch.no_grad():
    for sample_idx in range(20):
        tokens, sample = [BOS], []
        for pos_id in range(block_size):
            logits = gpt(tokens)[-1]  # the last position's scores (microgpt.py caches the rest)
            probs = torch.softmax(logits / temperature, dim=-1)
            token_id = random.choices(range(vocab_size), weights=probs.tolist())[0]
            if token_id == BOS:
                break
            tokens.append(token_id)
            sample.append(uchars[token_id])
        print(f"sample {sample_idx+1:2d}: {''.join(sample)}")
