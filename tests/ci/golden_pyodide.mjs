// The golden run under Pyodide: CPython compiled to WebAssembly, the Python of a browser (Pyodide,
// JupyterLite), run here by Node. It runs the unmodified microgpt.py on the shipped input.txt, as
// test_whole_run.py does, and checks that it prints golden_output.txt byte for byte. The trained
// weights' fingerprint is compared with golden_weights.txt's line for this platform where one is
// recorded (another math library may round exp and log otherwise in the last bit), and printed
// either way.
//
//   npm install pyodide@314.0.7       (in a folder of your own: about 14 MB)
//   node tests/ci/golden_pyodide.mjs PATH/TO/node_modules/pyodide
//
// .ci/run does both, in a temporary folder. Exit status 0 when the lines match.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pyodidePath = process.argv[2];
if (!pyodidePath) {
  console.error('usage: node tests/ci/golden_pyodide.mjs PATH/TO/node_modules/pyodide');
  process.exit(2);
}
const { loadPyodide } = await import(join(pyodidePath, 'pyodide.mjs'));
let stdout = '';
const pyodide = await loadPyodide({ indexURL: pyodidePath });
pyodide.setStdout({
  write: (bytes) => { stdout += new TextDecoder().decode(bytes); return bytes.length; },
});
pyodide.FS.mkdirTree('/run');
pyodide.FS.writeFile('/run/microgpt.py', readFileSync(join(here, '..', '..', 'microgpt.py')));
pyodide.FS.writeFile('/run/input.txt', readFileSync(join(here, '..', '..', 'input.txt')));
const started = Date.now();
const result = pyodide.runPython(`
import hashlib, os, platform, runpy, sys
os.chdir('/run')
ns = runpy.run_path('microgpt.py', run_name='__main__')
weights = '\\n'.join(repr(p.data) for p in ns['params'])
key = f"{sys.implementation.name}-{sys.platform}-{platform.libc_ver()[0] or 'other'}"
f"{platform.python_version()} {key} {hashlib.sha256(weights.encode()).hexdigest()}"
`);
const [version, key, fingerprint] = result.split(' ');
const seconds = ((Date.now() - started) / 1000).toFixed(0);
const want = readFileSync(join(here, '..', 'golden_output.txt'), 'utf8');
if (stdout !== want) {
  const got = stdout.split('\n'), expected = want.split('\n');
  const i = expected.findIndex((line, k) => line !== got[k]);
  console.error(`pyodide: CPython ${version} printed other lines than golden_output.txt: ` +
                `line ${i + 1} is ${JSON.stringify(got[i])}, not ${JSON.stringify(expected[i])}`);
  process.exit(1);
}
const recorded = Object.fromEntries(readFileSync(join(here, '..', 'golden_weights.txt'), 'utf8')
  .split('\n').filter((line) => line.trim() && !line.startsWith('#'))
  .map((line) => line.split(' ')));
if (recorded[key] !== undefined && recorded[key] !== fingerprint) {
  console.error('pyodide: the lines match, but the trained weights differ from those recorded ' +
                `for ${key}`);
  process.exit(1);
}
const weights = recorded[key] ? 'the weights recorded for it' :
  `weights ${fingerprint} (none recorded for ${key}; ` +
  `cpython-linux-glibc's are ${recorded['cpython-linux-glibc']})`;
console.log(`pyodide: CPython ${version} (${key}) printed golden_output.txt byte for byte in ` +
            `${seconds} s, and trained ${weights}`);
