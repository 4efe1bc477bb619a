/**
 * Output of the client commands: human tables by default, `-o json|yaml|wide`,
 * plus the shared client options and the error → exit code handling.
 */
import { Option, type Command } from 'commander';
import { yaml } from '../util/yaml.js';
import { ApiError, EXIT, UsageError, type ClientOptions } from '../client/http.js';
import { KairosClient } from '../client/api.js';

export type Format = 'table' | 'wide' | 'json' | 'yaml';

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
  /** Shown only with `-o wide`. */
  wide?: boolean;
}

export function cell(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  if (typeof v === 'object') {
    if (Array.isArray(v)) return v.length ? v.join(',') : '-';
    const entries = Object.entries(v as Record<string, unknown>);
    return entries.length ? entries.map(([k, x]) => `${k}=${String(x)}`).join(',') : '-';
  }
  return String(v).replace(/\s*\n\s*/g, ' ');
}

export function table<T>(rows: T[], columns: Column<T>[], wide: boolean): string {
  const cols = columns.filter((c) => wide || !c.wide);
  const grid = [cols.map((c) => c.header), ...rows.map((r) => cols.map((c) => cell(c.value(r))))];
  const widths = cols.map((_c, i) => Math.max(...grid.map((r) => [...(r[i] ?? '')].length)));
  return grid.map((r) => r.map((c, i) => c + ' '.repeat(Math.max(0, (widths[i] ?? 0) - [...c].length))).join('  ').trimEnd()).join('\n') + '\n';
}

/** Prints `data` in the chosen format; `columns` give the table, `pick` the value a table shows when data is one object. */
export function print<T>(format: Format, data: T | T[], columns: Column<T>[]): void {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  if (format === 'yaml') {
    process.stdout.write(yaml().stringify(data, { lineWidth: 0 }));
    return;
  }
  process.stdout.write(table(Array.isArray(data) ? data : [data], columns, format === 'wide'));
}

export function formatOf(opts: Record<string, unknown>): Format {
  const o = String(opts.output ?? 'table');
  if (o === 'table' || o === 'wide' || o === 'json' || o === 'yaml') return o;
  throw new UsageError(`-o must be json, yaml or wide, got "${o}"`);
}

/** Adds `-o` to a command that prints records. */
export function withOutput(cmd: Command): Command {
  return cmd.addOption(new Option('-o, --output <format>', 'output format: table (default), wide, json or yaml').default('table'));
}

/** The options every client command takes to reach an agent. */
export function withClientOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--address <url>', 'agent API address (default http://127.0.0.1:8080)').env('KAIROS_ADDR'))
    .addOption(new Option('--token <token>', 'API token, sent as Authorization: Bearer').env('KAIROS_TOKEN'))
    .addOption(new Option('--ca <file>', 'PEM CA to trust for https'))
    .addOption(new Option('--cert <file>', 'PEM client certificate (with --key)'))
    .addOption(new Option('--key <file>', 'PEM key of the client certificate'))
    .addOption(new Option('--insecure', 'do not verify the server certificate'));
}

export function clientOf(opts: Record<string, unknown>): KairosClient {
  const options: ClientOptions = {
    address: opts.address as string | undefined,
    token: opts.token as string | undefined,
    ca: opts.ca as string | undefined,
    cert: opts.cert as string | undefined,
    key: opts.key as string | undefined,
    insecure: opts.insecure === true,
  };
  return new KairosClient(options);
}

/** Reports an error on stderr and exits with its code (see EXIT). */
export function fail(err: unknown): never {
  if (err instanceof ApiError) {
    const code = err.code ? ` (${err.code}${err.field ? `, field ${err.field}` : ''})` : '';
    process.stderr.write(`kairos: ${err.message}${code}\n`);
    const errors = (err.body as { errors?: { index: number; name: string; field: string; message: string }[] } | null)?.errors;
    if (Array.isArray(errors)) {
      for (const e of errors) process.stderr.write(`  jobs[${e.index}]${e.name ? ` ${e.name}` : ''}: ${e.field ? `${e.field}: ` : ''}${e.message}\n`);
    }
    process.exit(err.exitCode);
  }
  if (err instanceof UsageError) {
    process.stderr.write(`kairos: ${err.message}\n`);
    process.exit(EXIT.usage);
  }
  process.stderr.write(`kairos: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(EXIT.error);
}

/** Runs a command body, mapping errors to exit codes; resolves the process exit code (0 unless the body returns one). */
export async function run(fn: () => Promise<number | void>): Promise<void> {
  let code: number | void;
  try {
    code = await fn();
  } catch (err) {
    fail(err);
  }
  if (typeof code === 'number' && code !== 0) process.exit(code);
}

/** Relative time for tables: "in 3m", "5s ago". */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = t - now;
  const s = Math.round(Math.abs(d) / 1000);
  const text = s < 60 ? `${s}s` : s < 3600 ? `${Math.round(s / 60)}m` : s < 86400 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;
  return d >= 0 ? `in ${text}` : `${text} ago`;
}

/** Usage errors commander finds (unknown option, missing argument) exit 2, on this command and all below it. */
export function usageExits<T extends Command>(cmd: T): T {
  cmd.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT.usage));
  for (const sub of cmd.commands) usageExits(sub);
  return cmd;
}
