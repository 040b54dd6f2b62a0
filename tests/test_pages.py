"""Do the pages still say what microgpt.py says? Each backticked snippet that reads as code (it
has `=` or `(`) is a quote: of microgpt.py or of a file the page names, comments aside, `...`
standing for what was left out; a setting set to a value names a real setting; a command is not a
quote. The counts a page gives (`num params: 4064`, the lines that are ours), the output it shows
and the cells it names are the file's own. A failure names the page and the quote."""
import glob, io, os, re, tokenize, unittest, warnings

import harness, program

ROOT = program.ROOT
PAGES = ['README.md'] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(
    os.path.join(ROOT, 'tests', '*.md')) + glob.glob(os.path.join(ROOT, 'tests', '*', 'README.md')))
FILES = {os.path.basename(p): p for p in glob.glob(os.path.join(ROOT, '**', '*.*'), recursive=True)
         if p.endswith(('.py', '.diff', '.mjs')) and os.sep + 'out' + os.sep not in p}
COMMAND = re.compile(r'^(\$env:|([A-Z_]+=\S* )?(python3?|pypy3|py|pip|git|sed|grep|diff|cd|jupytext'
                     r'|bash|node|set|/usr/bin/time)\b)')
NOT_QUOTES = {'= 20', '(1,)', '-log(probs[target])', "('NAME', '", 'name = value',
              'name = value # why', 'print([round(w.data, 2) for w in attn_weights])'}  # not quotes
WORKSHOP = os.path.join(ROOT, '..', 'shared', 'reading.py')  # the reading check, beside a clone

flat = lambda text: re.sub(r'\s+', ' ', text).strip()  # whitespace collapsed, as Markdown does

def forms(path):  # the file's text; flattened as written, and without its comments
    text = program.read(path)
    lines, tokens = text.splitlines(), tokenize.generate_tokens(io.StringIO(text).readline)
    for t in [t for t in (tokens if path.endswith('.py') else []) if t.type == tokenize.COMMENT]:
        lines[t.start[0] - 1] = lines[t.start[0] - 1][:t.start[1]]
    return text, flat(text), flat('\n'.join(lines))

def page(name):  # its prose (flat), its fenced blocks, and the forms of every file it names
    text = program.read(os.path.join(ROOT, name))
    named = {program.SCRIPT} | {FILES[os.path.basename(f)] for f in re.findall(
        r'[\w./-]+\.(?:py|diff|mjs)\b', text) if os.path.basename(f) in FILES}
    return (flat(re.sub(r'(?ms)^```.*?^```', '', text)),
            re.findall(r'(?ms)^```[^\n]*\n(.*?)^```', text), [forms(f) for f in sorted(named)])

class WhatPagesQuote(unittest.TestCase):
    def test_every_code_snippet_is_in_the_file_or_a_file_the_page_names(self):
        for name in PAGES:
            prose, _, sources = page(name)
            for quote in map(flat, re.findall(r'`([^`]+)`', prose)):
                if not re.search(r'[=(]', quote) or quote in NOT_QUOTES or COMMAND.match(quote):
                    continue
                setting = re.fullmatch(r'((?:\w+, )*\w+) = .+', quote)  # a value to try
                call = re.fullmatch(r'(?:\w+\.)?(\w+)\(.*\)', quote)  # a function named
                found = any(all(p.strip() in f for p in quote.split('...'))
                            or setting and all(re.search(rf'(?m)^\+?(\w+, )*{n}(, \w+)* = ', raw)
                                               for n in setting[1].split(', '))
                            or call and f'def {call[1]}(' in raw for raw, *flats in sources
                            for f in flats)
                with self.subTest(page=name, quote=quote):
                    self.assertTrue(found, f'{name} quotes `{quote}`, not in the files it names')

    def test_counts_output_and_cells_are_the_files_own(self):
        ns = harness.load('Parameters', input_path=os.path.join(ROOT, 'input.txt'))
        printed = dict(line.split(': ') for line in ns['_stdout'].splitlines())
        golden = program.read(os.path.join(ROOT, 'tests', 'golden_output.txt')).splitlines()
        text = program.read(program.SCRIPT)
        lines, titles = text.splitlines(), [title for title, _ in program.cells(text)]
        for name in PAGES:
            prose, fenced, _ = page(name)
            with self.subTest(page=name):
                for what, n in re.findall(r'(num docs|vocab size|num params): (\d+)', prose +
                                          ''.join(fenced)):
                    self.assertEqual(n, printed[what], f'{name}: `{what}: {n}`')
                for n in re.findall(r'([\d,]+) parameters', prose):
                    self.assertEqual(n.replace(',', ''), printed['num params'], f'{name}: {n}')
                for n in re.findall(r'(\d+) lines \(`wc -l microgpt.py`\)', prose):
                    self.assertEqual(int(n), len(lines), f'{name}: {n} lines')
                for cell in re.findall(r'\b(?:the|a|its) ([A-Z][a-z]+) cells?\b', prose):
                    self.assertIn(cell, titles, f'{name} names a {cell} cell')
                for line in (l for f in fenced for l in f.splitlines()
                             if re.match(r'(step|sample|mean loss) ', l) and name == 'README.md'):
                    self.assertTrue(any(line.startswith(g) for g in golden if g), line)

    @unittest.skipUnless(os.path.exists(WORKSHOP), "the workshop's reading.py is not beside this")
    def test_the_lines_that_are_ours_are_counted_right(self):
        with warnings.catch_warnings(record=True):  # the workshop's open() is left to close
            counted, _ = program.tool(WORKSHOP).measure(program.read(program.SCRIPT))
        for name in PAGES:
            prose, want = page(name)[0], (counted['of'], counted['reference lines kept'])
            for n in re.findall(r'(\d+) lines are ours', prose):
                self.assertEqual(int(n), counted['lines added'], f'{name}: {n} lines are ours')
            for pair in re.findall(r"Of the reference's (\d+) code lines, (\d+) are here", prose):
                self.assertEqual(tuple(map(int, pair)), want, f"{name}: the reference's {pair}")

if __name__ == '__main__':
    unittest.main()
