// Builds the web UI (ui/src, Preact + TypeScript) into dist/ui with esbuild: one minified ES module
// (app.js), one stylesheet (app.css: style.css and the pages' own CSS) and the page. Runs in `npm run build` (so in `prepare`, i.e. on `npm install`).
// Records the bundle's size in dist/ui/bundle-size.json and fails past the budget (150 KB gzipped).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'ui');
const BUDGET_GZIP = 150 * 1024;

mkdirSync(out, { recursive: true });
const started = Date.now();
await build({
  entryPoints: [join(root, 'ui', 'src', 'main.tsx')],
  outfile: join(out, 'app.js'),
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
const css = readFileSync(join(out, 'app.css'));
const size = {
  js_bytes: js.length,
  js_gzip_bytes: gzipSync(js, { level: 9 }).length,
  css_bytes: css.length,
  css_gzip_bytes: gzipSync(css, { level: 9 }).length,
  budget_gzip_bytes: BUDGET_GZIP,
  built_at: new Date().toISOString(),
};
writeFileSync(join(out, 'bundle-size.json'), `${JSON.stringify(size, null, 2)}\n`);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`ui: dist/ui/app.js ${kb(size.js_bytes)} (${kb(size.js_gzip_bytes)} gzipped, budget ${kb(BUDGET_GZIP)}), app.css ${kb(size.css_gzip_bytes)} gzipped, ${Date.now() - started} ms`);
if (size.js_gzip_bytes + size.css_gzip_bytes > BUDGET_GZIP) {
  console.error(`ui: bundle over budget: ${kb(size.js_gzip_bytes + size.css_gzip_bytes)} gzipped > ${kb(BUDGET_GZIP)}`);
  process.exit(1);
}
