/**
 * Jobs as code: `kairos apply -f FILE|DIR`, `kairos diff -f`, `kairos export`.
 * Files are JSON or YAML, one or many jobs each (`---` separated documents, or a
 * list). apply has the agent stamp an ownership label on every job it writes
 * (`metadata["managed-by"] = "kairos-apply"`, or `--owner-label`) and `--prune`
 * deletes only jobs carrying that same label, so it never touches jobs it does
 * not own. Both go through `POST /v1/jobs/bulk` (validated whole, written as one batch).
 */
import { Command, Option } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { yaml } from '../util/yaml.js';
import { definitionOf } from '../core/audit.js';
import type { BulkChange, BulkResult } from '../client/api.js';
import { ApiError, UsageError } from '../client/http.js';
import type { KairosClient } from '../client/api.js';
import { clientOf, formatOf, print, run, withClientOptions, withOutput } from './output.js';
import { DEFAULT_OWNER, loadJobsJson, OWNER_KEY } from './job-files.js';

// ---- diff rendering ----

function flatten(v: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
  if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out.set(prefix, v);
  return out;
}

/** Defaults left out of a create's listing (null, "", false, 0, {}). */
const isEmpty = (v: unknown): boolean => v === null || v === '' || v === false || v === 0 || (typeof v === 'object' && Object.keys(v as object).length === 0);

const show = (v: unknown): string => (v === undefined ? '(none)' : JSON.stringify(v));

export function renderChanges(changes: BulkChange[], color: boolean): string {
  const paint = (code: string, s: string): string => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const lines: string[] = [];
  for (const c of changes) {
    if (c.action === 'create') {
      lines.push(paint('32', `+ create ${c.name}`));
      // Without `after` (a large apply asks for `detail: diff`), a create is listed by name.
      for (const [k, v] of flatten(c.after ?? null, '', new Map())) if (!isEmpty(v)) lines.push(paint('32', `    ${k}: ${show(v)}`));
    } else if (c.action === 'delete') {
      lines.push(paint('31', `- delete ${c.name}`));
    } else {
      lines.push(paint('33', `~ update ${c.name}`));
      const before = flatten(c.before, '', new Map());
      const after = flatten(c.after, '', new Map());
      for (const k of [...new Set([...before.keys(), ...after.keys()])].sort()) {
        const a = before.get(k);
        const b = after.get(k);
        if (JSON.stringify(a) === JSON.stringify(b)) continue;
        lines.push(`    ${k}: ${paint('31', show(a))} -> ${paint('32', show(b))}`);
      }
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

function useColor(): boolean {
  return Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
}

function summary(r: BulkResult): string {
  const verb = r.dry_run ? 'would be ' : '';
  return `${r.created.length} ${verb}created, ${r.updated.length} ${verb}updated, ${r.deleted.length} ${verb}deleted, ${r.unchanged.length} unchanged\n`;
}

/** Past this many jobs, the human listing names created and deleted jobs instead of showing every field. */
const FULL_LISTING_MAX = 500;

async function send(client: KairosClient, opts: Record<string, unknown>, dryRun: boolean, machineOutput: boolean): Promise<BulkResult> {
  const paths = (opts.file as string[] | undefined) ?? [];
  if (paths.length === 0) throw new UsageError('-f FILE|DIR is required');
  const owner = String(opts.ownerLabel ?? DEFAULT_OWNER);
  if (owner === '') throw new UsageError('--owner-label cannot be empty');
  const { count, json } = await loadJobsJson(paths);
  // Uncounted jobs (large lists sent as text) are many.
  const detail = machineOutput || (count !== null && count <= FULL_LISTING_MAX) ? 'full' : 'diff';
  const label = `${OWNER_KEY}=${owner}`;
  // The jobs go out as the JSON text of the files or the parser: 100k jobs are never rebuilt as objects here.
  const request = `{"jobs":${json},"label":${JSON.stringify(label)},"prune":${JSON.stringify(opts.prune ? { label } : null)},"dry_run":${dryRun},"detail":"${detail}"}`;
  try {
    return await client.bulkText(request);
  } catch (err) {
    // A list sent as text did not parse: parsing the files here names the file and line.
    if (err instanceof ApiError && err.code === 'KAIROS_INVALID_JSON') await loadJobsJson(paths, { parseAll: true });
    throw err;
  }
}

function withFileOptions(cmd: Command): Command {
  return cmd
    .option('-f, --file <path>', 'a JSON/YAML file, a directory of them, or - for stdin (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--prune', `also delete jobs labelled ${OWNER_KEY}=<owner> that the files do not name`)
    .addOption(new Option('--owner-label <value>', `the ${OWNER_KEY} label stamped on every job, and the only one --prune deletes`).default(DEFAULT_OWNER));
}

export function applyCommands(): Command[] {
  const apply = withOutput(withClientOptions(withFileOptions(new Command('apply').description('create or update the jobs of files (showing the diff); --prune deletes owned jobs no file names'))))
    .option('--dry-run', 'show what would change, write nothing')
    .action((opts: Record<string, unknown>) =>
      run(async () => {
        const format = formatOf(opts);
        const result = await send(clientOf(opts), opts, opts.dryRun === true, format === 'json' || format === 'yaml');
        if (format === 'json' || format === 'yaml') return print(format, result, []);
        process.stdout.write(renderChanges(result.changes, useColor()));
        process.stdout.write(summary(result));
      }),
    );

  const diff = withOutput(withClientOptions(withFileOptions(new Command('diff').description('show how the files differ from the cluster; exit 1 when they differ, 0 when not')))).action(
    (opts: Record<string, unknown>) =>
      run(async () => {
        const format = formatOf(opts);
        const result = await send(clientOf(opts), opts, true, format === 'json' || format === 'yaml');
        const changes = result.changes;
        if (format === 'json' || format === 'yaml') print(format, result, []);
        else if (changes.length) process.stdout.write(renderChanges(changes, useColor()));
        else process.stdout.write('No differences.\n');
        return changes.length ? 1 : 0;
      }),
  );

  const exp = withClientOptions(
    new Command('export')
      .description('write every job as YAML (writable fields only), one file per job with -d, else to stdout; `apply` takes them back unchanged')
      .option('-d, --dir <dir>', 'directory to write NAME.yaml files into (created if missing)')
      .option('--label <k=v>', 'only jobs with this metadata label (repeatable)', (v: string, prev: string[] = []) => [...prev, v]),
  ).action((opts: Record<string, unknown>) =>
    run(async () => {
      const query: Record<string, string> = {};
      for (const l of (opts.label as string[] | undefined) ?? []) {
        const eq = l.indexOf('=');
        if (eq <= 0) throw new UsageError(`--label must be key=value, got "${l}"`);
        query[`metadata[${l.slice(0, eq)}]`] = l.slice(eq + 1);
      }
      const jobs = await clientOf(opts).listJobs(query);
      const docs = jobs.map((j) => ({ name: j.name, text: yaml().stringify(definitionOf(j), { lineWidth: 0 }) }));
      const dir = opts.dir as string | undefined;
      if (dir === undefined) {
        process.stdout.write(docs.map((d) => d.text).join('---\n'));
        return;
      }
      mkdirSync(dir, { recursive: true });
      for (const d of docs) writeFileSync(join(dir, `${d.name}.yaml`), d.text);
      process.stderr.write(`${docs.length} job${docs.length === 1 ? '' : 's'} written to ${dir}\n`);
    }),
  );
  return [apply, diff, exp];
}
