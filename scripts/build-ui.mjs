// Builds the web UI (ui/src, Preact + TypeScript) into dist/ui with esbuild: one minified ES module
// (app.js), one stylesheet (app.css: style.css and the pages' own CSS) and the page. Runs in `npm run build` (so in `prepare`, i.e. on `npm install`).
// Records the bundle's size in dist/ui/bundle-size.json and fails past the budget (150 KB gzipped).
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'ui');
const BUDGET_GZIP = 150 * 1024;

// Old chunks must not pile up (their names carry a hash).
rmSync(join(out, 'chunks'), { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const started = Date.now();
await build({
  // app.js / app.css, plus chunks loaded on demand (the chart library): dist/ui/chunks/.
  entryPoints: { app: join(root, 'ui', 'src', 'main.tsx') },
  outdir: out,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'linked',
  logLevel: 'warning',
  // Types shared with the server are erased; nothing of src/ may reach the bundle at run time.
  external: [],
});
copyFileSync(join(root, 'ui', 'src', 'index.html'), join(out, 'index.html'));

const js = readFileSync(join(out, 'app.js'));
const chunkDir = join(out, 'chunks');
const chunks = existsSync(chunkDir) ? readdirSync(chunkDir).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(chunkDir, f))) : [];
const css = readFileSync(join(out, 'app.css'));
const size = {
  js_bytes: js.length,
  js_gzip_bytes: gzipSync(js, { level: 9 }).length,
  /** Loaded on demand (charts). */
  chunks_gzip_bytes: chunks.reduce((n, c) => n + gzipSync(c, { level: 9 }).length, 0),
  css_bytes: css.length,
  css_gzip_bytes: gzipSync(css, { level: 9 }).length,
  budget_gzip_bytes: BUDGET_GZIP,
  built_at: new Date().toISOString(),
};
writeFileSync(join(out, 'bundle-size.json'), `${JSON.stringify(size, null, 2)}\n`);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const total = size.js_gzip_bytes + size.chunks_gzip_bytes + size.css_gzip_bytes;
console.log(`ui: gzipped app.js ${kb(size.js_gzip_bytes)} + chunks ${kb(size.chunks_gzip_bytes)} + app.css ${kb(size.css_gzip_bytes)} = ${kb(total)} (budget ${kb(BUDGET_GZIP)}), ${Date.now() - started} ms`);
if (total > BUDGET_GZIP) {
  console.error(`ui: bundle over budget: ${kb(total)} gzipped > ${kb(BUDGET_GZIP)}`);
  process.exit(1);
}
