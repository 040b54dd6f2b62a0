"""Look inside: train microgpt.py as it is (your own file, with its settings), then draw what the
model learned, in SVG files in tests/look_inside/out/:

    attention.svg    each head's attention weights for one name: a row per position, a column per
                     position it may look at, labelled with the characters (BOS as such), each
                     weight written in its cell and coloured by the scale drawn below
    embeddings.svg   the token embeddings (wte) and the position embeddings (wpe), each projected
                     on its first two principal components, with the axes' numbers
    next_char.svg    the probability of each next token after a few beginnings (those that fit
                     in block_size), at temperature 1 and at the file's temperature: what
                     sampling draws from
    learning.svg     per matrix, a row of two panels: its RMS gradient and its update over its
                     weights at every step (log scales), from tests/experiments/gradient_log.diff
    forward.svg      one forward pass of gpt() for one position of the name: every vector it
                     makes, in order, read from gpt() as it runs, labelled with the line of gpt()
                     that made it; the keys' and values' rows named by their position, the logits
                     and probabilities by their character

    python tests/look_inside/look_inside.py               # the first name trained on
    python tests/look_inside/look_inside.py --name emma   # another (its characters in the data)
    python tests/look_inside/look_inside.py --name emma --position 2   # forward.svg there

The pictures go to tests/look_inside/out/ (git ignores it); --remake writes them over the committed
ones in tests/look_inside/, which README.md shows.

It runs the file's cells in this process, as the tests do: training takes one default run's time.
Standard library only; progress goes to stderr. Every drawn number is also in the SVG, in a
data-value attribute, so a test can check that the picture shows the model's own numbers.
"""
import argparse, io, math, os, sys, tempfile
from html import escape

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/: program
import program

HERE = os.path.dirname(os.path.abspath(__file__))
INK, FAINT, CARD = '#222', '#666', '#ffffff'  # dark ink on a white card: light and dark themes


def train(name=None, position=None):
    """Run microgpt.py's cells through Training (with the gradient log at every step, where its
    diff applies), in the repository's folder; return (namespace, the log or None). A name with
    characters the data lacks stops it once the Tokenizer cell has run, before training."""
    try:
        code = program.source(experiment='gradient_log', codes={'grad_log_every': '1'})
    except ValueError as e:  # the learner's edits moved the lines the diff changes
        print(f'look_inside: no learning.svg: {e}', file=sys.stderr)
        code = program.read(program.SCRIPT)
    out = io.StringIO()

    def printed(*args, **kwargs):  # the cells' own print, kept, with a progress line on stderr
        line = ' '.join(str(a) for a in args)
        out.write(line + kwargs.get('end', '\n'))
        if line.startswith('step '):
            print(f'\rlook_inside: training, {line.split(" |")[0]}', end='', file=sys.stderr,
                  flush=True)
    ns = {'__name__': 'microgpt', 'print': printed, '_source': code.splitlines()}  # gpt's lines
    cwd = os.getcwd()
    os.chdir(program.ROOT)  # the file's input_path is relative to it, as for `python microgpt.py`
    try:
        for title in program.run_cells(code, ns):
            if title == 'Tokenizer':  # the name and the position known: checked before training
                drawn = ns['docs'][0] if name is None else name
                missing = ''.join(sorted(set(drawn) - set(ns['uchars'])))
                if not drawn:
                    sys.exit('look_inside: --name takes one character or more')
                if missing:
                    sys.exit(f"look_inside: {drawn!r} has characters that {ns['input_path']} "
                             f"lacks: {missing!r}")
                top = min(len(drawn), ns['block_size'] - 1)
                if position is not None and not 0 <= position <= top:
                    sys.exit(f"look_inside: --position must be from 0 to {top} for {drawn!r}")
            if title == 'Training':
                break
    finally:
        os.chdir(cwd)
    print(file=sys.stderr)
    return ns, (program.gradient_logs(out.getvalue()) if 'grad_log_every' in ns else None)


# The numbers: each computed from the trained model, in plain Python.

def tokens_of(ns, name):
    return [ns['BOS']] + [ns['uchars'].index(ch) for ch in name]


def attention(ns, name):
    """{(layer, head): rows}, row t the weights position t gives positions 0..t, as gpt computes
    them for BOS + name (the softmax inside gpt's attention recorded as it runs), and the token
    labels."""
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
        v = [1.0 / math.sqrt(d) + 0.01 * j for j in range(d)]  # any start not orthogonal to it
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


WATCHED = ('tok_emb', 'pos_emb', 'x', 'x_residual', 'q', 'k', 'v', 'q_h', 'k_h', 'v_h',
           'attn_logits', 'attn_weights', 'head_out', 'x_attn', 'logits')  # gpt()'s own names
PER_HEAD = ('q_h', 'k_h', 'v_h', 'attn_logits', 'attn_weights', 'head_out')  # once for each head


def forward_pass(ns, name, position):
    """Every vector gpt() computes for `position` of BOS + name, in order, read from gpt's own
    frame as it runs (sys.settrace): [(the source line that made it, variable name, head or None,
    numbers)]. The earlier positions run first, as in sampling, to fill the KV cache. Then the
    probabilities of the next token, softmax of the logits (at temperature 1), as in Training."""
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
                    short = line if len(line) <= 52 else line[:51] + '…'
                    steps.append((short, var, head, floats))

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
    probs = [p.data for p in ns['softmax'](logits)]
    steps.append(('probs = softmax(logits)', 'probs', None, probs))
    return steps, [label(ns, t) for t in tokens]


def numbers(value):
    """A Value's number, or a (nested) list of them as floats."""
    return value.data if hasattr(value, 'data') else [numbers(v) for v in value]


def next_char(ns, beginning, temperature):
    """The probability of each token after BOS + beginning, at this temperature, as sampled."""
    tokens = tokens_of(ns, beginning)
    keys, values = [[] for _ in range(ns['n_layer'])], [[] for _ in range(ns['n_layer'])]
    for pos_id, token_id in enumerate(tokens):
        logits = ns['gpt'](token_id, pos_id, keys, values)
    return [p.data for p in ns['softmax']([l / temperature for l in logits])]


# The pictures: small SVG helpers, then one function a picture.

def svg(width, height, title, body, note=''):
    return '\n'.join([f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                      f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
                      rect(0, 0, width, height, CARD, ' rx="6"'), text(16, 24, title, 'start', 15),
                      text(16, 42, note, 'start', fill=FAINT), *body, '</svg>']) + '\n'


def text(x, y, s, anchor='middle', size=11, fill=INK, extra=''):
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="{fill}"{extra}>{escape(str(s), False)}</text>')


def rect(x, y, w, h, fill, extra=''):
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"{extra}/>'


def segment(x1, y1, x2, y2, stroke='#ccc', extra=''):
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}"'
            f'{extra}/>')


def ticks(top, most=5):
    """Round numbers from 0 to top: steps of 1, 2 or 5 times a power of ten, at most most + 1."""
    unit = 10 ** math.floor(math.log10(top))
    step = next(unit * f for f in (1, 2, 5, 10) if top / (unit * f) <= most)
    return [round(i * step, 12) for i in range(int(top / step + 1e-9) + 1)]


# From light yellow through green to dark blue: more steps a reader can tell apart than one hue.
RAMP = [(255, 255, 217), (237, 248, 177), (199, 233, 180), (127, 205, 187), (65, 182, 196),
        (29, 145, 192), (34, 94, 168), (37, 52, 148), (8, 29, 88)]


def ramp(v):  # 0 light, 1 dark
    at = max(0.0, min(1.0, v)) * (len(RAMP) - 1)
    i = min(int(at), len(RAMP) - 2)
    a, b = RAMP[i], RAMP[i + 1]
    return '#%02x%02x%02x' % tuple(round(p + (q - p) * (at - i)) for p, q in zip(a, b))


def weight_colour(w):  # by the square root: small weights, 0.05 against 0.2, still look apart
    return ramp(math.sqrt(max(0.0, w)))


def draw_attention(maps, labels, name, n_layer, n_head):
    n, cell = len(labels), 26
    pw = 40 + n * cell
    body = []
    for (li, h), rows in sorted(maps.items()):
        x0, y0 = 30 + h * (pw + 30), 100 + li * (n * cell + 60)
        body.append(text(x0 + 40 + n * cell / 2, y0 - 22, f'layer {li}, head {h}', size=12))
        for t, row in enumerate(rows):
            body.append(text(x0 + 34, y0 + t * cell + cell / 2 + 4, labels[t], 'end',
                             extra=' class="position"'))
            for s, w in enumerate(row):
                x, y = x0 + 40 + s * cell, y0 + t * cell
                body.append(rect(x, y, cell - 1, cell - 1, weight_colour(w),
                                 f' data-value="{w!r}" data-row="{t}" data-column="{s}" '
                                 f'data-layer="{li}" data-head="{h}"'))
                shown = f'{w:.2f}'[1:] if w < 0.995 else '1'  # .25 for 0.25: it fits the cell
                body.append(text(x + cell / 2 - 0.5, y + cell / 2 + 3, shown, size=9,
                                 fill='#fff' if w > 0.3 else INK, extra=' class="weight"'))
        for s, lab in enumerate(labels):
            body.append(text(x0 + 40 + s * cell + cell / 2, y0 - 6, lab))
    y = 100 + n_layer * (n * cell + 60) - 20
    body.append(text(30, y + 11, 'weight:', 'start'))
    for i in range(200):  # the scale: the colour of each weight from 0 to 1
        body.append(rect(80 + i * 2, y, 2.1, 14, ramp((i + 0.5) / 200)))
    for w in (0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1):
        x = 80 + 400 * math.sqrt(w)
        body += [segment(x, y + 14, x, y + 18, FAINT),
                 text(x, y + 29, f'{w:g}', size=10, fill=FAINT)]
    return svg(max(30 + n_head * (pw + 30), 600), y + 44,
               f"Attention for '{name}': a row per position, the positions it looks at", body,
               'each row sums to 1; each cell writes its weight (.25 for 0.25) and is coloured by '
               'the scale below')


def place(points, labels, size=12):
    """Where each point's label goes (in pixels): the nearest of eight spots around the point, at
    growing distances, that covers no point and no label placed before it, else the least crowded;
    [(box, far)], far when the label sits away from its point (a line then joins them)."""
    boxes, spots = [(x - 4, y - 4, x + 4, y + 4) for x, y in points], []
    for (x, y), lab in zip(points, labels):
        w, h = 0.62 * size * len(lab) + 2, size
        tries = [(x + dx * (6 + d) - w * (dx < 0) - w / 2 * (dx == 0),
                  y + dy * (3 + d) - h * (dy < 0) - h / 2 * (dy == 0), d)
                 for d in (0, 10, 20) for dx, dy in ((1, 0), (-1, 0), (1, -1), (1, 1), (-1, -1),
                                                     (-1, 1), (0, -1), (0, 1))]
        bx, by, d = min(tries, key=lambda t: sum(t[0] < b[2] and b[0] < t[0] + w and
                                                 t[1] < b[3] and b[1] < t[1] + h for b in boxes))
        boxes.append((bx, by, bx + w, by + h))
        spots.append((boxes[-1], d > 0))
    return spots


def scatter(x0, y0, size, points, labels, title, kind):
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    span = max(max(map(abs, xs)), max(map(abs, ys))) * 1.1 or 1.0
    X = lambda v: x0 + size / 2 + v / span * size / 2
    Y = lambda v: y0 + size / 2 - v / span * size / 2
    body = [rect(x0, y0, size, size, 'none', ' stroke="#ccc"'),
            text(x0 + size / 2, y0 - 8, title, size=12),
            text(x0 + size / 2, y0 + size + 32, 'first principal component', fill=FAINT),
            text(x0 - 40, y0 + size / 2, 'second principal component', fill=FAINT,
                 extra=f' transform="rotate(-90 {x0 - 40} {y0 + size / 2})"')]
    for v in sorted({sign * t + 0.0 for t in ticks(span, 3) for sign in (-1, 1)}):  # the scale
        body += [segment(X(v), y0, X(v), y0 + size, '#ccc' if v == 0 else '#f0f0f0'),
                 segment(x0, Y(v), x0 + size, Y(v), '#ccc' if v == 0 else '#f0f0f0'),
                 text(X(v), y0 + size + 14, f'{v:g}', size=10, fill=FAINT),
                 text(x0 - 5, Y(v) + 3, f'{v:g}', 'end', 10, FAINT)]
    colours = ['#c0392b' if kind == 'wte' and lab in 'aeiouy' else '#1f4e99' for lab in labels]
    for (a, b), lab, colour in zip(points, labels, colours):
        body.append(f'<circle cx="{X(a):.1f}" cy="{Y(b):.1f}" r="3" fill="{colour}" '
                    f'data-kind="{kind}" data-label="{escape(lab)}" data-value="{a!r} {b!r}"/>')
    pixels = [(X(a), Y(b)) for a, b in points]
    for (x, y), ((x0, y0, x1, y1), far), lab, colour in zip(pixels, place(pixels, labels), labels,
                                                              colours):
        if far:  # from the point to the nearest edge of its label
            body.append(segment(x, y, min(max(x, x0), x1), min(max(y, y0), y1), '#aaa'))
        body.append(text(x0, y1 - 2, lab, 'start', 12, colour,
                         f' data-box="{x0:.1f} {y0:.1f} {x1:.1f} {y1:.1f}"'))  # for the tests
    return body


def draw_embeddings(wte, wte_labels, wpe):
    body = scatter(70, 80, 380, wte, wte_labels, 'token embeddings (wte): vowels in red', 'wte')
    body += scatter(560, 80, 380, wpe, [str(i) for i in range(len(wpe))],
                    'position embeddings (wpe): each position by its number', 'wpe')
    return svg(970, 520, 'What the embeddings learned, each on its first two principal components',
               body, 'close points: vectors the model treats alike; the axes: how far each vector '
                     'lies along each component, in the embedding\'s own units')


def draw_next_char(rows, labels, temperature):
    bw, gap, ph, left = 26, 2, 120, 50
    top = max(p for _, p1, pt in rows for p in p1 + pt)  # the tallest bar fills the height
    grid = ticks(top, 4)
    body = [rect(16, 52, 12, 10, '#9bb7e0'), text(32, 61, 'at temperature 1', 'start'),
            rect(146, 52, 12, 10, '#1f4e99'),
            text(162, 61, f"at the file's temperature, {temperature}", 'start')]
    right = left + len(labels) * (bw + gap)
    for i, (beginning, p1, pt) in enumerate(rows):
        y0 = 104 + i * (ph + 60)
        shown = f"after BOS{' + ' + repr(beginning) if beginning else ''}"
        body.append(text(left, y0 - 10, shown, 'start', 12))
        for g in grid:  # the scale: a line at each round probability
            y = y0 + ph - ph * g / top
            body += [segment(left, y, right, y, '#999' if g == 0 else '#eee'),
                     text(left - 4, y + 3, f'{g:g}', 'end', 10, FAINT)]
        for k, (a, b) in enumerate(zip(p1, pt)):
            x = left + k * (bw + gap)
            for j, (p, colour, kind) in enumerate(((a, '#9bb7e0', 't1'), (b, '#1f4e99', 'tT'))):
                h = ph * p / top
                body.append(rect(x + j * bw / 2, y0 + ph - h, bw / 2 - 1, h, colour,
                                 f' data-row="{i}" data-token="{k}" data-kind="{kind}" '
                                 f'data-value="{p!r}"'))
            body.append(text(x + bw / 2, y0 + ph + 14, labels[k],
                             size=10 if labels[k] == 'BOS' else 12))
    body.append(text(14, 104 + ph / 2, 'probability', fill=FAINT,
                     extra=f' transform="rotate(-90 14 {104 + ph / 2})"'))
    return svg(right + 20, 104 + len(rows) * (ph + 60),
               'The next character: what sampling draws from', body,
               'each bar: the probability that this character comes next (BOS: the name ends)')


def draw_learning(logs):
    """A row of two panels per matrix, on log scales shared down each column: its RMS gradient,
    and its RMS update over its RMS weight, at every step."""
    steps = sorted(logs)
    names = list(logs[steps[0]])
    pw, ph, gap, body = 380, 78, 16, []
    X0 = (170, 170 + pw + 70)
    for panel, (column, title) in enumerate(((1, 'RMS gradient'),
                                            (2, 'RMS update / RMS weight'))):
        x0 = X0[panel]
        values = [logs[s][m][column] for s in steps for m in names]
        positive = [v for v in values if 0 < v < math.inf]
        lo = math.floor(math.log10(min(positive)))
        hi = max(lo + 1, math.ceil(math.log10(max(positive))))  # at least one power of ten
        every = 1 if ph / (hi - lo) >= 14 else 2  # a label on each power of ten, or every other
        X = lambda s: x0 + pw * (s - steps[0]) / max(1, steps[-1] - steps[0])
        body.append(text(x0 + pw / 2, 74, title + ' (log scale)', size=12))
        for i, m in enumerate(names):
            y0 = 84 + i * (ph + gap)
            Y = lambda v: y0 + ph * (hi - math.log10(v)) / (hi - lo)
            body.append(rect(x0, y0, pw, ph, 'none', ' stroke="#ccc"'))
            for e in range(lo, hi + 1):
                body.append(segment(x0, Y(10 ** e), x0 + pw, Y(10 ** e), '#eee'))
                if (hi - e) % every == 0:
                    body.append(text(x0 - 5, Y(10 ** e) + 3, f'1e{e}', 'end', 9, FAINT))
            points = [(s, logs[s][m][column]) for s in steps]
            drawn = ' '.join(f'{X(s):.1f},{Y(v):.1f}' for s, v in points if 0 < v < math.inf)
            body.append(f'<polyline points="{drawn}" fill="none" stroke="#1f4e99" '
                        f'stroke-width="1" data-matrix="{m}" data-column="{column}" '
                        f'data-value="{" ".join(f"{s}:{v!r}" for s, v in points)}"/>')
            for s, v in points:
                if v == 0:
                    body.append(text(X(s), y0 + ph - 2, '×', size=12, fill='#c0392b'))
            if panel == 0:
                body.append(text(x0 - 44, y0 + ph / 2 + 4, m, 'end', 12))
        y = 84 + len(names) * (ph + gap)
        for s in sorted({steps[0], steps[-1] // 2, steps[-1]}):
            body.append(text(X(s), y, s, fill=FAINT))
        body += [text(x0 + pw, y + 14, 'step', 'end', fill=FAINT),
                 text(x0, y + 14, '× at the bottom: exactly 0', 'start', 10, '#c0392b')]
    return svg(X0[1] + pw + 20, 84 + len(names) * (ph + gap) + 30,
               'How each matrix learned: the gradient-log experiment at every step', body,
               'at step 1 the matrices before attn_wo and mlp_fc2 (which start at zero) get '
               'exactly no gradient; the updates shrink as the learning rate decays')


def blue_red(v):  # -1 full red, 0 white, 1 full blue
    shade = round(255 * (1 - min(1.0, abs(v))))
    return f'rgb({shade},{shade},255)' if v >= 0 else f'rgb(255,{shade},{shade})'


def draw_forward(steps, labels, position, vocab):
    """A row per vector of one forward pass, in gpt()'s order, each number a cell (blue above 0,
    red below, full colour at the row's largest size, which is written at its right), the line of
    gpt() that made it on the left; each key's and value's row named by its position, and the
    columns of the attention's scores and of the logits by their characters."""
    cell, left, top = 13, 460, 96
    body, y = [text(16, 64, 'colour:', 'start')], top
    for i in range(21):  # the scale, from -m to m, m a row's largest size
        body.append(rect(64 + i * 10, 54, 10, 12, blue_red((i - 10) / 10)))
    body.append(rect(64, 54, 210, 12, 'none', ' stroke="#ccc"'))
    body += [text(69, 78, '−m', size=10, fill=FAINT), text(169, 78, '0', size=10, fill=FAINT),
             text(269, 78, '+m', size=10, fill=FAINT),
             text(284, 64, "m: the row's largest size, written at its right", 'start', 10, FAINT)]
    for i, (source, var, head, value) in enumerate(steps):
        rows = value if value and isinstance(value[0], list) else [value]  # k_h, v_h: per position
        largest = max(abs(x) for r in rows for x in r)
        tag = source + (f'   (head {head})' if head is not None else '')
        body += [text(left - 62, y + cell - 3, tag, 'end', 10),
                 text(left + len(rows[0]) * cell + 6, y + cell - 3, f'{largest:.3g}', 'start', 9,
                      FAINT, f' class="scale" data-step="{i}"')]
        for ri, r in enumerate(rows):
            if rows is value:  # a row for each position so far: its number and character
                body.append(text(left - 6, y + cell - 3, f'pos {ri} {labels[ri]}', 'end', 9,
                                 FAINT, f' class="position" data-step="{i}"'))
            for j, x in enumerate(r):
                body.append(f'<rect x="{left + j * cell}" y="{y}" width="{cell - 1}" '
                            f'height="{cell - 1}" fill="{blue_red(x / (largest or 1))}" '
                            f'data-var="{var}" data-step="{i}" data-row="{ri}" data-value="{x!r}">'
                            f'<title>{var}[{j}] = {x:.4g}</title></rect>')
            y += cell
        columns = {'attn_logits': labels, 'logits': vocab}.get(var)
        if columns:  # between the scores and what softmax makes of them, which share the columns
            for j, lab in enumerate(columns[:len(rows[0])]):
                body.append(text(left + j * cell + cell / 2 - 0.5, y + 10, lab,
                                 size=7 if len(lab) > 1 else 10,
                                 extra=f' class="column" data-step="{i}"'))
            y += 13
        y += 6
    width = left + max(len(r[0]) if isinstance(r[0], list) else len(r) for *_, r in steps) * cell
    seen = ' '.join(labels[:-1]) or 'nothing'
    return svg(width + 50, y + 20, f'One forward pass of gpt(): position {position}, the token '
               f'{labels[-1]!r} after {seen}', body, 'every vector gpt() makes, in order, labelled '
               'with the line that made it; one cell a number; keys and values: a row per position')


def write(path, picture):  # whole or not at all: a temporary file, then moved into place
    with open(path + '.part', 'w', encoding='utf-8') as f:
        f.write(picture)
    os.replace(path + '.part', path)


def pictures(ns, logs, name, position=None):
    """{file: SVG} for the trained model in ns, the gradient log (or None), the name to draw and the
    forward pass's position (by default the name's last letter, or the last that fits)."""
    maps, labels = attention(ns, name)
    wte, wpe = ([[p.data for p in row] for row in ns['state_dict'][m]] for m in ('wte', 'wpe'))
    vocab = [label(ns, t) for t in range(ns['vocab_size'])]
    # after BOS, after the name's first letter, its first two: those wpe has positions for
    fits = [b for b in dict.fromkeys(('', name[:1], name[:2])) if len(b) < ns['block_size']]
    rows = [(b, next_char(ns, b, 1.0), next_char(ns, b, ns['temperature'])) for b in fits]
    drawn = {
        'attention.svg': draw_attention(maps, labels, name, ns['n_layer'], ns['n_head']),
        'embeddings.svg': draw_embeddings(principal_components(wte)[1], vocab,
                                          principal_components(wpe)[1]),
        'next_char.svg': draw_next_char(rows, vocab, ns['temperature']),
    }
    if logs:
        drawn['learning.svg'] = draw_learning(logs)
    position = min(len(name), ns['block_size'] - 1) if position is None else position
    drawn['forward.svg'] = draw_forward(*forward_pass(ns, name, position), position, vocab)
    return drawn


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--name', help='the name whose attention to draw (default: the first name '
                    'trained on)')
    ap.add_argument('--position', type=int, help='the position of the forward pass to draw '
                    "(default: the name's last letter, or the last that fits in block_size)")
    ap.add_argument('--out', default=os.path.join(HERE, 'out'), help='the folder to write the SVG '
                    'files in (default: tests/look_inside/out/, which git ignores)')
    ap.add_argument('--remake', action='store_true',
                    help='write them over the committed pictures in tests/look_inside/')
    args = ap.parse_args()
    out = HERE if args.remake else args.out
    try:  # a folder it can write in, known before training, not after it
        os.makedirs(out, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    except OSError as e:  # a file, a path under one, a folder it may not write in
        sys.exit(f'look_inside: --out {out} is not a folder it can write in: {e.strerror}')
    ns, logs = train(args.name, args.position)
    name = ns['docs'][0] if args.name is None else args.name
    for file, picture in pictures(ns, logs, name, args.position).items():
        write(os.path.join(out, file), picture)
        print(f'look_inside: wrote {os.path.join(out, file)}', file=sys.stderr)


if __name__ == '__main__':
    main()
