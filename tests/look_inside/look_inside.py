"""Look inside: train microgpt.py as it is (your own file, with its settings), then draw what the model
learned, in SVG files in tests/look_inside/out/:

    attention.svg    each head's attention weights for one name: a row per position, a column per
                     position it may look at, labelled with the characters (BOS as such)
    embeddings.svg   the token embeddings (wte) and the position embeddings (wpe), each projected on
                     its first two principal components
    next_char.svg    the probability of each next token after a few beginnings, at temperature 1 and
                     at the file's temperature: what sampling draws from
    learning.svg     per matrix, the RMS gradient and the update over the weights at every step (log
                     scales), from tests/experiments/gradient_log.diff's numbers
    forward.svg      one forward pass of gpt() for one position of the name: every vector it makes, in
                     order, read from gpt() as it runs, labelled with the line of gpt() that made it

    python tests/look_inside/look_inside.py               # the first name trained on
    python tests/look_inside/look_inside.py --name emma   # another name (its characters must be in the data)
    python tests/look_inside/look_inside.py --name emma --position 2   # forward.svg at that position

The pictures go to tests/look_inside/out/ (git ignores it); --remake writes them over the committed ones
in tests/look_inside/, which README.md shows.

It runs the file's cells in this process, as the tests do: training takes one default run's time.
Standard library only; progress goes to stderr. Every drawn number is also in the SVG, in a data-value
attribute, so a test can check that the picture shows the model's own numbers.
"""
import argparse, io, math, os, sys
from html import escape

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/, for harness
import harness

HERE = os.path.dirname(os.path.abspath(__file__))
INK, FAINT, CARD = '#222', '#666', '#ffffff'  # dark ink on a white card: readable in light and dark themes


def train(name=None, position=None):
    """Run microgpt.py's cells through Training (with the gradient log at every step, where its diff
    applies), in the repository's folder; return (namespace, the log or None). A name with characters
    the data lacks stops it once the Tokenizer cell has run, before training."""
    try:
        text = harness.source(experiment='gradient_log', codes={'grad_log_every': '1'})
    except ValueError as e:  # the learner's edits moved the lines the diff changes
        print(f'look_inside: no learning.svg: {e}', file=sys.stderr)
        with open(harness.SCRIPT, encoding='utf-8') as f:
            text = f.read()
    out = io.StringIO()

    def printed(*args, **kwargs):  # the cells' own print, kept, with a progress line on stderr
        line = ' '.join(str(a) for a in args)
        out.write(line + kwargs.get('end', '\n'))
        if line.startswith('step '):
            print(f'\rlook_inside: training, {line.split(" |")[0]}', end='', file=sys.stderr, flush=True)
    ns = {'__name__': 'microgpt', 'print': printed}
    cwd = os.getcwd()
    os.chdir(harness.ROOT)  # the file's input_path is relative to it, as for `python microgpt.py`
    try:
        ns['_source'] = text.splitlines()  # forward_pass labels each vector with its line of gpt()
        offset = 0
        for title, cell in harness.cells(text):
            exec(compile('\n' * offset + cell, harness.SCRIPT, 'exec'), ns)  # the file's line numbers
            offset += cell.count('\n')
            if title == 'Tokenizer':  # the name and the position known: checked before training
                drawn = ns['docs'][0] if name is None else name
                missing = sorted(set(drawn) - set(ns['uchars']))
                if missing or not drawn:
                    sys.exit(f"look_inside: {drawn!r} has characters that {ns['input_path']} lacks: "
                             f"{''.join(missing)!r}" if missing else 'look_inside: --name takes one character or more')
                top = min(len(drawn), ns['block_size'] - 1)
                if position is not None and not 0 <= position <= top:
                    sys.exit(f"look_inside: --position must be from 0 to {top} for {drawn!r}")
            if title == 'Training':
                break
    finally:
        os.chdir(cwd)
    print(file=sys.stderr)
    return ns, (harness.gradient_logs(out.getvalue()) if 'grad_log_every' in ns else None)


# The numbers: each computed from the trained model, in plain Python.

def tokens_of(ns, name):
    return [ns['BOS']] + [ns['uchars'].index(ch) for ch in name]


def attention(ns, name):
    """{(layer, head): rows}, row t the weights position t gives positions 0..t, as gpt computes them
    for BOS + name (the softmax inside gpt's attention recorded as it runs), and the token labels."""
    tokens = tokens_of(ns, name)[:ns['block_size']]
    recorded, softmax = [], ns['softmax']
    ns['softmax'] = lambda logits: recorded.append(softmax(logits)) or recorded[-1]
    try:
        keys, values = [[] for _ in range(ns['n_layer'])], [[] for _ in range(ns['n_layer'])]
        for pos_id, token_id in enumerate(tokens):
            ns['gpt'](token_id, pos_id, keys, values)
    finally:
        ns['softmax'] = softmax
    calls = iter(recorded)  # in gpt's order: each position, each layer, each head
    maps = {(li, h): [] for li in range(ns['n_layer']) for h in range(ns['n_head'])}
    for _ in tokens:
        for li in range(ns['n_layer']):
            for h in range(ns['n_head']):
                maps[li, h].append([w.data for w in next(calls)])
    return maps, [label(ns, t) for t in tokens]


def label(ns, token_id):
    return 'BOS' if token_id == ns['BOS'] else ns['uchars'][token_id]


def principal_components(rows, k=2, iterations=500):
    """The first k principal components of the rows (eigenvectors of their covariance with the
    largest eigenvalues, by power iteration and deflation) and each row projected on them:
    ([(eigenvalue, vector)], [[coordinate per component] per row])."""
    n, d = len(rows), len(rows[0])
    mean = [sum(r[j] for r in rows) / n for j in range(d)]
    centred = [[r[j] - mean[j] for j in range(d)] for r in rows]
    cov = [[sum(c[i] * c[j] for c in centred) / n for j in range(d)] for i in range(d)]
    components = []
    for c in range(k):
        v = [1.0 / math.sqrt(d) + 0.01 * j for j in range(d)]  # any start not orthogonal to the answer
        for _ in range(iterations):
            w = [sum(cov[i][j] * v[j] for j in range(d)) for i in range(d)]
            for _, u in components:  # deflation: nothing along the components already found
                dot = sum(a * b for a, b in zip(w, u))
                w = [a - dot * b for a, b in zip(w, u)]
            norm = math.sqrt(sum(a * a for a in w)) or 1.0
            v = [a / norm for a in w]
        lam = sum(v[i] * sum(cov[i][j] * v[j] for j in range(d)) for i in range(d))
        components.append((lam, v))
    return components, [[sum(a * b for a, b in zip(c, v)) for _, v in components] for c in centred]


WATCHED = ('tok_emb', 'pos_emb', 'x', 'x_residual', 'q', 'k', 'v', 'q_h', 'k_h', 'v_h', 'attn_logits',
           'attn_weights', 'head_out', 'x_attn', 'logits')  # gpt()'s vectors, by their names there
PER_HEAD = ('q_h', 'k_h', 'v_h', 'attn_logits', 'attn_weights', 'head_out')  # made once for each head


def forward_pass(ns, name, position):
    """Every vector gpt() computes for `position` of BOS + name, in order, read from gpt's own frame as
    it runs (sys.settrace): [(the source line that made it, variable name, head or None, numbers)].
    The earlier positions run first, as in sampling, to fill the KV cache. Then the probabilities of
    the next token, softmax of the logits (at temperature 1), as the Training cell computes them."""
    tokens = tokens_of(ns, name)[:position + 1]
    gpt, code = ns['gpt'], ns['gpt'].__code__
    source = dict(enumerate(ns['_source'], 1))
    keys, values = [[] for _ in range(ns['n_layer'])], [[] for _ in range(ns['n_layer'])]
    for pos_id in range(position):
        gpt(tokens[pos_id], pos_id, keys, values)
    steps, seen, previous = [], {}, [None]

    def record(frame):  # after a line ran: each watched variable it (re)bound
        for var in WATCHED:
            value = frame.f_locals.get(var)
            if value is not None and seen.get(var) is not value:
                seen[var] = value
                head = frame.f_locals.get('h') if var in PER_HEAD else None
                line = source.get(previous[0], '').split('  #')[0].strip()
                floats = numbers(value)
                if floats:  # not x_attn = [], before any head has run
                    steps.append((line if len(line) <= 52 else line[:51] + '…', var, head, floats))

    def local(frame, event, arg):
        if event in ('line', 'return'):
            record(frame)
            previous[0] = frame.f_lineno
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code is code else None
    sys.settrace(tracer)
    try:
        logits = gpt(tokens[position], position, keys, values)
    finally:
        sys.settrace(None)
    steps.append(('probs = softmax(logits)', 'probs', None, [p.data for p in ns['softmax'](logits)]))
    return steps, [label(ns, t) for t in tokens]


def numbers(value):
    """A Value's number, or a (nested) list of them as floats."""
    return value.data if hasattr(value, 'data') else [numbers(v) for v in value]


def next_char(ns, beginning, temperature):
    """The probability of each token after BOS + beginning, at this temperature, as sampling draws."""
    tokens = tokens_of(ns, beginning)
    keys, values = [[] for _ in range(ns['n_layer'])], [[] for _ in range(ns['n_layer'])]
    for pos_id, token_id in enumerate(tokens):
        logits = ns['gpt'](token_id, pos_id, keys, values)
    return [p.data for p in ns['softmax']([l / temperature for l in logits])]


# The pictures: small SVG helpers, then one function a picture.

def svg(width, height, title, body, note=''):
    return '\n'.join([f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                      f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
                      f'<rect width="{width}" height="{height}" fill="{CARD}" rx="6"/>',
                      f'<text x="16" y="24" font-size="15" fill="{INK}">{escape(title)}</text>',
                      f'<text x="16" y="42" fill="{FAINT}">{escape(note)}</text>', *body, '</svg>']) + '\n'


def text(x, y, s, anchor='middle', size=11, fill=INK, extra=''):
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}"{extra}>'
            f'{escape(str(s))}</text>')


def blue(value):  # 0 white, 1 dark blue
    v = max(0.0, min(1.0, value))
    return '#%02x%02x%02x' % (round(255 - 225 * v), round(255 - 180 * v), round(255 - 75 * v))


def draw_attention(maps, labels, name, n_layer, n_head):
    n, cell = len(labels), 24
    pw = 40 + n * cell
    body = []
    for (li, h), rows in sorted(maps.items()):
        x0, y0 = 30 + h * (pw + 30), 90 + li * (n * cell + 60)
        body.append(text(x0 + 40 + n * cell / 2, y0 - 22, f'layer {li}, head {h}', size=12))
        for t, row in enumerate(rows):
            body.append(text(x0 + 34, y0 + t * cell + cell / 2 + 4, labels[t], 'end'))
            for s, w in enumerate(row):
                body.append(f'<rect x="{x0 + 40 + s * cell}" y="{y0 + t * cell}" width="{cell - 1}" '
                            f'height="{cell - 1}" fill="{blue(w)}" data-value="{w!r}" data-row="{t}" '
                            f'data-column="{s}" data-layer="{li}" data-head="{h}"/>')
        for s, lab in enumerate(labels):
            body.append(text(x0 + 40 + s * cell + cell / 2, y0 - 6, lab))
    width = 30 + n_head * (pw + 30)
    height = 60 + n_layer * (n * cell + 60)
    return svg(width, height, f"Attention for '{name}': a row per position, the positions it looks at",
               body, 'each row sums to 1; dark: most of the row\'s weight; columns: the earlier positions '
                     '(and itself), labelled by their characters')


def scatter(x0, y0, size, points, labels, title, kind):
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    span = max(max(map(abs, xs)), max(map(abs, ys))) * 1.1 or 1.0
    X = lambda v: x0 + size / 2 + v / span * size / 2
    Y = lambda v: y0 + size / 2 - v / span * size / 2
    body = [f'<rect x="{x0}" y="{y0}" width="{size}" height="{size}" fill="none" stroke="#ccc"/>',
            f'<line x1="{x0}" y1="{Y(0):.1f}" x2="{x0 + size}" y2="{Y(0):.1f}" stroke="#eee"/>',
            f'<line x1="{X(0):.1f}" y1="{y0}" x2="{X(0):.1f}" y2="{y0 + size}" stroke="#eee"/>',
            text(x0 + size / 2, y0 - 8, title, size=12),
            text(x0 + size / 2, y0 + size + 16, 'first principal component', fill=FAINT),
            text(x0 - 8, y0 + size / 2, 'second', fill=FAINT,
                 extra=f' transform="rotate(-90 {x0 - 8} {y0 + size / 2})"')]
    for (a, b), lab in zip(points, labels):
        vowel = kind == 'wte' and lab in 'aeiouy'
        colour = '#c0392b' if vowel else '#1f4e99'
        body.append(f'<circle cx="{X(a):.1f}" cy="{Y(b):.1f}" r="3" fill="{colour}" data-kind="{kind}" '
                    f'data-label="{escape(lab)}" data-value="{a!r} {b!r}"/>')
        body.append(text(X(a) + 5, Y(b) - 4, lab, 'start', 12, colour))
    return body


def draw_embeddings(wte, wte_labels, wpe):
    body = scatter(40, 80, 380, wte, wte_labels, 'token embeddings (wte): vowels in red', 'wte')
    body += scatter(500, 80, 380, wpe, [str(i) for i in range(len(wpe))], 'position embeddings (wpe)', 'wpe')
    return svg(920, 510, 'What the embeddings learned, each on its first two principal components', body,
               'close points: vectors the model treats alike')


def draw_next_char(rows, labels, temperature):
    bw, gap, ph = 26, 2, 120
    top = max(p for _, p1, pt in rows for p in p1 + pt)  # the tallest bar fills the height
    body = []
    for i, (beginning, p1, pt) in enumerate(rows):
        y0 = 80 + i * (ph + 60)
        shown = f"after BOS{' + ' + repr(beginning) if beginning else ''}"
        body.append(text(40, y0 - 8, shown, 'start', 12))
        for k, (a, b) in enumerate(zip(p1, pt)):
            x = 40 + k * (bw + gap)
            for j, (p, colour, kind) in enumerate(((a, '#9bb7e0', 't1'), (b, '#1f4e99', 'tT'))):
                h = ph * p / top
                body.append(f'<rect x="{x + j * bw / 2:.1f}" y="{y0 + ph - h:.1f}" width="{bw / 2 - 1:.1f}" '
                            f'height="{h:.1f}" fill="{colour}" data-row="{i}" data-token="{k}" '
                            f'data-kind="{kind}" data-value="{p!r}"/>')
            body.append(text(x + bw / 2, y0 + ph + 14, labels[k], size=10 if labels[k] == 'BOS' else 12))
        body.append(f'<line x1="40" y1="{y0 + ph}" x2="{40 + len(labels) * (bw + gap)}" y2="{y0 + ph}" stroke="#999"/>')
        body.append(f'<line x1="36" y1="{y0}" x2="40" y2="{y0}" stroke="#999"/>')
        body.append(text(34, y0 + 4, f'{top:.2f}', 'end', 10, FAINT))
    width = 60 + len(labels) * (bw + gap)
    return svg(width, 80 + len(rows) * (ph + 60), 'The next character: what sampling draws from', body,
               f'light: at temperature 1; dark: at the file\'s temperature, {temperature}; the tallest bar is '
               f'a probability of {top:.2f}')


def draw_learning(logs):
    steps = sorted(logs)
    names = list(logs[steps[0]])
    colours = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#17becf']
    pw, ph, body = 400, 260, []
    for panel, (column, title) in enumerate(((1, 'RMS gradient'), (2, 'RMS update / RMS weight'))):
        x0, y0 = 60 + panel * (pw + 90), 80
        values = [logs[s][m][column] for s in steps for m in names]
        positive = [v for v in values if 0 < v < math.inf]
        lo, hi = math.floor(math.log10(min(positive))), math.ceil(math.log10(max(positive)))
        X = lambda s: x0 + pw * (s - steps[0]) / max(1, steps[-1] - steps[0])
        Y = lambda v: y0 + ph * (hi - math.log10(v)) / (hi - lo)
        body += [f'<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#ccc"/>',
                 text(x0 + pw / 2, y0 - 8, title + ' (log scale)', size=12),
                 text(x0 + pw, y0 + ph + 30, 'step', 'end', fill=FAINT)]
        for e in range(lo, hi + 1):
            body += [f'<line x1="{x0}" y1="{Y(10 ** e):.1f}" x2="{x0 + pw}" y2="{Y(10 ** e):.1f}" stroke="#eee"/>',
                     text(x0 - 6, Y(10 ** e) + 4, f'1e{e}', 'end', fill=FAINT)]
        for s in sorted({steps[0], steps[-1] // 2, steps[-1]}):
            body.append(text(X(s), y0 + ph + 14, s, fill=FAINT))
        body.append(text(x0 + 4, y0 + ph + 28, '× at the bottom: exactly 0', 'start', 10, FAINT))
        for i, m in enumerate(names):
            colour = colours[i % len(colours)]
            points = [(s, logs[s][m][column]) for s in steps]
            drawn = ' '.join(f'{X(s):.1f},{Y(v):.1f}' for s, v in points if 0 < v < math.inf)
            body.append(f'<polyline points="{drawn}" fill="none" stroke="{colour}" stroke-width="1.3" '
                        f'data-matrix="{m}" data-column="{column}" '
                        f'data-value="{" ".join(f"{s}:{v!r}" for s, v in points)}"/>')
            for s, v in points:
                if v == 0:
                    body.append(text(X(s), y0 + ph - 2, '×', size=12, fill=colour))
    for i, m in enumerate(names):
        x, y = 60 + (i % 5) * 180, 400 + (i // 5) * 18
        body += [f'<line x1="{x}" y1="{y - 4}" x2="{x + 20}" y2="{y - 4}" stroke="{colours[i % len(colours)]}" '
                 f'stroke-width="2"/>', text(x + 26, y, m, 'start')]
    return svg(60 + 2 * (pw + 90), 410 + 18 * ((len(names) + 4) // 5), 'How each matrix learned: the gradient-log experiment at every step',
               body, 'at step 1 the matrices before attn_wo and mlp_fc2 (which start at zero) get exactly no '
                     'gradient; the updates shrink as the learning rate decays')


def draw_forward(steps, labels, position):
    """A row per vector of one forward pass, in gpt()'s order, each number a cell (blue above 0, red
    below, each row scaled to its largest), the line of gpt() that made it on the left."""
    cell, left, top, row_gap = 11, 400, 70, 8
    body, y = [], top
    for line, var, head, value in steps:
        rows = value if value and isinstance(value[0], list) else [value]  # k_h, v_h: a row per position
        scale = max((abs(x) for r in rows for x in r), default=0) or 1.0
        tag = f'{line}' + (f'   (head {head})' if head is not None else '')
        body.append(text(left - 8, y + cell - 2, tag, 'end', size=10))
        for ri, r in enumerate(rows):
            for j, x in enumerate(r):
                shade = int(255 * (1 - min(1.0, abs(x) / scale)))
                colour = f'rgb({shade},{shade},255)' if x >= 0 else f'rgb(255,{shade},{shade})'
                body.append(f'<rect x="{left + j * cell}" y="{y + ri * cell}" width="{cell - 1}" height="{cell - 1}" '
                            f'fill="{colour}" data-var="{var}" data-step="{len(body)}" data-row="{ri}" '
                            f'data-value="{x!r}"><title>{var}[{j}] = {x:.4g}</title></rect>')
        y += len(rows) * cell + row_gap
    width = left + max(len(v[0]) if v and isinstance(v[0], list) else len(v) for _, _, _, v in steps) * cell + 20
    seen = ' '.join(labels[:-1]) + (' ' if len(labels) > 1 else '')
    return svg(width, y + 20, f'One forward pass of gpt(): position {position}, the token {labels[-1]!r} after {seen.strip() or "nothing"}',
               body, 'every vector gpt() makes, in order, labelled with the line that made it; blue above 0, red below')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--name', help='the name whose attention to draw (default: the first name trained on)')
    ap.add_argument('--position', type=int, help='the position of the forward pass to draw (default: the '
                    "name's last letter, or the last that fits in block_size)")
    ap.add_argument('--out', default=os.path.join(HERE, 'out'),
                    help='the folder to write the SVG files in (default: tests/look_inside/out/, which git ignores)')
    ap.add_argument('--remake', action='store_true', help='write them over the committed pictures in tests/look_inside/')
    args = ap.parse_args()
    out = HERE if args.remake else args.out
    if not os.path.isdir(out) and os.path.exists(out):
        sys.exit(f'look_inside: --out {out} is a file, not a folder')
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        sys.exit(f'look_inside: cannot make the folder {out}: {e.strerror}')
    ns, logs = train(args.name, args.position)
    name = ns['docs'][0] if args.name is None else args.name
    maps, labels = attention(ns, name)
    sd = ns['state_dict']
    wte = [[p.data for p in row] for row in sd['wte']]
    wpe = [[p.data for p in row] for row in sd['wpe']]
    pictures = {
        'attention.svg': draw_attention(maps, labels, name, ns['n_layer'], ns['n_head']),
        'embeddings.svg': draw_embeddings(principal_components(wte)[1],
                                          [label(ns, t) for t in range(ns['vocab_size'])],
                                          principal_components(wpe)[1]),
        'next_char.svg': draw_next_char([(b, next_char(ns, b, 1.0), next_char(ns, b, ns['temperature']))
                                         for b in ('', name[:1], name[:2])],
                                        [label(ns, t) for t in range(ns['vocab_size'])], ns['temperature']),
    }
    if logs:
        pictures['learning.svg'] = draw_learning(logs)
    position = min(len(name), ns['block_size'] - 1) if args.position is None else args.position
    pictures['forward.svg'] = draw_forward(*forward_pass(ns, name, position), position)
    for file, picture in pictures.items():
        with open(os.path.join(out, file), 'w', encoding='utf-8') as f:
            f.write(picture)
        print(f'look_inside: wrote {os.path.join(out, file)}', file=sys.stderr)


if __name__ == '__main__':
    main()
