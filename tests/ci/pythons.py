"""For .ci/run: the interpreters the golden test runs on, one "label<TAB>path" a line (path "-"
where that interpreter is not on this machine)."""
import glob, os, re, shutil

# The interpreters the golden test (in CI) and tests/speed/benchmark.py run on: every CPython from
# 3.6 up, and PyPy. (microgpt.py runs on 3.6 and up: it needs f-strings; the tests need 3.9.) Each
# minor version is looked for under pyenv (~/.pyenv/versions/3.N.*/bin/python3, the newest patch
# release) and then as python3.N on PATH; PyPy as pypy3 on PATH.
WANTED = ['3.6', '3.7', '3.8', '3.9', '3.10', '3.11', '3.12', '3.13']


def pythons():
    """[(label, path or None)] for each CPython in WANTED (and any newer one found), then PyPy.
    A None path means that interpreter is not on this machine."""
    def version(path):  # '3.11.7' from ~/.pyenv/versions/3.11.7/bin/python3
        return tuple(int(n) for n in re.findall(r'\d+', path.split(os.sep)[-3])[:3])
    found = {}
    pyenv = glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python3'))
    for path in sorted(pyenv, key=version):
        major, minor = version(path)[:2]
        if (major, minor) >= (3, 6):
            found[f'{major}.{minor}'] = path  # sorted, so the newest patch release wins
    for minor in WANTED:
        path = shutil.which(f'python{minor}')
        if minor not in found and path and '.pyenv' not in path:  # pyenv's shims may not run
            found[minor] = path
    labels = WANTED + sorted(set(found) - set(WANTED), key=lambda v: tuple(map(int, v.split('.'))))
    return ([(f'cpython {minor}', found.get(minor)) for minor in labels]
            + [('pypy3', shutil.which('pypy3'))])


if __name__ == '__main__':
    for label, path in pythons():
        print(f'{label}\t{path or "-"}')
