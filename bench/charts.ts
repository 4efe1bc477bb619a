/**
 * `npm run bench:charts [results.json] [outdir]`: renders the SVG charts of a recorded bench run
 * (default bench/results/latest.json) into a directory (default bench/results/). To publish a
 * run's charts: `npm run bench:charts -- bench/results/latest.json docs/bench`, then embed
 * docs/bench/NAME.svg in BENCHMARKS.md.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCharts, type ChartInput } from './lib/charts.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const [input = join(ROOT, 'bench', 'results', 'latest.json'), outDir = join(ROOT, 'bench', 'results')] = process.argv.slice(2);
const results = JSON.parse(readFileSync(input, 'utf8')) as ChartInput;
const written = writeCharts(results, outDir);
if (written.length === 0) process.stderr.write(`bench:charts: ${input} holds no scenario with a chart\n`);
for (const file of written) process.stdout.write(`${relative(process.cwd(), file) || file}\n`);
