"""Two pictures the lectures draw, made from the rungs themselves, as SVG.

    python3 tests/ladder/pictures.py [--steps N] [--remake]

counts.svg: rung 1's table after N names (how often each character came right after each other
one). attention.svg: which earlier positions rung 8's attention reads from each position, after N
steps, as the mean of its weights over the held-out names (see held_out.py), beside the plain mean
of rung 7, which weighs every position so far the same. They go into tests/ladder/out/; --remake
writes the ones the ladder's README shows, beside this file. A long run is quicker under pypy3.
"""
import argparse, os, time

import held_out, program

HERE = os.path.dirname(os.path.abspath(__file__))

def colour(x):  # 0: white, 1: dark blue
    return '#%02x%02x%02x' % tuple(round(255 + (c - 255) * x) for c in (8, 48, 107))

def heatmap(values, rows, columns, top, left, size, most):
    """SVG cells for values[i][j] (None: no cell), the rows and columns labelled."""
    out = []
    for j, label in enumerate(columns):
        out.append(f'<text x="{left + (j + 0.5) * size}" y="{top - 4}" text-anchor="middle">'
                   f'{label}</text>')
    for i, label in enumerate(rows):
        y = top + i * size
        out.append(f'<text x="{left - 4}" y="{y + size * 0.7}" text-anchor="end">{label}</text>')
        for j, value in enumerate(values[i]):
            if value is not None:
                out.append(f'<rect x="{left + j * size}" y="{y}" width="{size}" height="{size}" '
                           f'fill="{colour(min(value / most, 1))}"><title>{label} {columns[j]}: '
                           f'{value:.3g}</title></rect>')
    return out

def scale(x, top, height, most, ticks, fmt):
    """A colour bar from 0 (bottom) to `most` (top), with its ticks."""
    out = [f'<defs><linearGradient id="bar" x1="0" y1="1" x2="0" y2="0"><stop offset="0" '
           f'stop-color="{colour(0)}"/><stop offset="1" stop-color="{colour(1)}"/>'
           f'</linearGradient></defs>',
           f'<rect x="{x}" y="{top}" width="14" height="{height}" fill="url(#bar)" '
           f'stroke="#888"/>']
    for tick in ticks:
        y = top + height * (1 - tick / most)
        out.append(f'<text x="{x + 18}" y="{y + 4}">{fmt(tick)}</text>')
    return out

def svg(width, height, parts):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" '
            f'fill="white"/>\n' + '\n'.join(parts) + '\n</svg>\n')

def counts_picture(steps):
    """Rung 1's counts after `steps` names, in the repository's root, as held_out.py runs it."""
    ns, _, loss, _, _ = held_out.run(os.path.join(HERE, '01_counting.py'), steps)
    labels = ns['uchars'] + ['BOS']
    counts, most = ns['counts'], max(map(max, ns['counts']))
    size, left, top = 26, 60, 86
    side = size * len(labels)
    parts = [f'<text x="10" y="18" font-size="15">Rung 1: how often the next character (column) '
             f'came right after a character (row), in {steps} names</text>',
             f'<text x="10" y="36">BOS as a row: a name\'s start; as a column: its end. '
             f'Held-out loss of these counts: {loss:.4f}.</text>',
             f'<text x="{left + side / 2}" y="{top - 22}" text-anchor="middle">next character'
             f'</text>', f'<text x="14" y="{top + side / 2}" transform="rotate(-90 14 '
             f'{top + side / 2})" text-anchor="middle">character</text>']
    parts += heatmap(counts, labels, labels, top, left, size, most)
    for i, row in enumerate(counts):
        for j, c in enumerate(row):
            if c:
                parts.append(f'<text x="{left + (j + 0.5) * size}" y="{top + (i + 0.65) * size}" '
                             f'text-anchor="middle" font-size="8" fill="'
                             f'{"white" if c > 0.55 * most else "black"}">{c}</text>')
    ticks = [0] + [most * k // 4 for k in (1, 2, 3, 4)]
    parts += scale(left + side + 20, top, side, most, ticks, str)
    parts.append(f'<text x="{left + side + 20}" y="{top - 8}">count</text>')
    return svg(left + side + 80, top + side + 20, parts), loss

def attention_picture(steps):
    """Rung 8's attention weights, position by position, averaged over the held-out names."""
    ns, held, loss, _, model = held_out.run(os.path.join(HERE, '08_attention.py'), steps)
    n = ns['block_size']
    total, count = [[0.0] * n for _ in range(n)], [0] * n
    softmax = ns['softmax']
    for doc in sorted(held):
        read = []  # the attention's weights, as softmax makes them inside gpt()
        ns['softmax'] = lambda logits: read.append(softmax(logits)) or read[-1]
        tokens = [ns['BOS']] + [ns['uchars'].index(c) for c in doc] + [ns['BOS']]
        keys, values = [[] for _ in range(ns['n_layer'])], [[] for _ in range(ns['n_layer'])]
        for pos_id in range(min(n, len(tokens) - 1)):
            model(tokens[pos_id], pos_id, keys, values)
            for t, w in enumerate(read[-1]):
                total[pos_id][t] += w.data
            count[pos_id] += 1
        ns['softmax'] = softmax
    learned = [[total[i][t] / count[i] if t <= i else None for t in range(n)] for i in range(n)]
    plain = [[1 / (i + 1) if t <= i else None for t in range(n)] for i in range(n)]
    size, left, top, gap = 40, 40, 100, 60
    side = size * n
    parts = [f'<text x="10" y="18" font-size="15">How much each position (row) reads of itself '
             f'and each earlier position (column)</text>', f'<text x="10" y="36">Left: rung 7, '
             f'a plain mean. Right: rung 8\'s attention after {steps} steps, its weights '
             f'averaged</text>', f'<text x="10" y="52">over {len(held)} held-out names '
             f'(held-out loss {loss:.4f}). Position 0 reads BOS; position p, the name\'s first '
             f'p characters too.</text>',
             f'<text x="{left}" y="{top - 22}">rung 7: plain mean</text>',
             f'<text x="{left + side + gap}" y="{top - 22}">rung 8: attention, learned</text>']
    columns = [str(t) for t in range(n)]
    parts += heatmap(plain, columns, columns, top, left, size, 1)
    parts += heatmap(learned, columns, columns, top, left + side + gap, size, 1)
    for x0, grid in ((left, plain), (left + side + gap, learned)):
        for i in range(n):
            for t in range(i + 1):
                ink = 'white' if grid[i][t] > 0.55 else 'black'
                parts.append(f'<text x="{x0 + (t + 0.5) * size}" y="{top + (i + 0.65) * size}" '
                             f'text-anchor="middle" font-size="10" fill="{ink}">'
                             f'{grid[i][t]:.2f}</text>')
    parts += scale(left + 2 * side + gap + 20, top, side, 1, [0, 0.25, 0.5, 0.75, 1],
                   lambda v: f'{v:.2f}')
    parts.append(f'<text x="{left + 2 * side + gap + 20}" y="{top - 8}">weight</text>')
    return svg(left + 2 * side + gap + 80, top + side + 20, parts), loss

def write(path, text):  # whole: a temporary file, then moved into place
    with open(path + '.tmp', 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(path + '.tmp', path)

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=int, default=3000, help='training steps (3000)')
    parser.add_argument('--remake', action='store_true',
                        help="write the README's pictures beside this file, not into out/")
    args = parser.parse_args()
    folder = HERE if args.remake else os.path.join(HERE, 'out')
    os.makedirs(folder, exist_ok=True)
    for name, make in (('counts.svg', counts_picture), ('attention.svg', attention_picture)):
        start = time.time()
        text, loss = make(args.steps)
        write(os.path.join(folder, name), text)
        print(f'{os.path.relpath(os.path.join(folder, name))}: {args.steps} steps, held-out '
              f'loss {loss:.4f}, {time.time() - start:.0f} s', flush=True)
