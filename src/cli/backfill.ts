/** `kairos backfill JOB --from --to`: re-run past ticks of a job; `ls` and `cancel` its backfills. */
import { Command, Option } from 'commander';
import type { BackfillView } from '../core/backfills.js';
import { UsageError } from '../client/http.js';
import { clientOf, formatOf, print, run, withClientOptions, withOutput, type Column } from './output.js';

export const BACKFILL_COLUMNS: Column<BackfillView>[] = [
  { header: 'ID', value: (b) => b.id },
  { header: 'STATE', value: (b) => b.state },
  { header: 'FROM', value: (b) => b.from },
  { header: 'TO', value: (b) => b.to },
  { header: 'TICKS', value: (b) => b.ticks },
  { header: 'STARTED', value: (b) => b.dispatched },
  { header: 'RUNNING', value: (b) => b.running },
  { header: 'OK', value: (b) => b.succeeded },
  { header: 'FAILED', value: (b) => b.failed },
  { header: 'SKIPPED', value: (b) => b.skipped },
  { header: 'PARALLELISM', value: (b) => b.parallelism, wide: true },
  { header: 'SCHEDULE', value: (b) => `${b.schedule}${b.timezone ? ` (${b.timezone})` : ''}`, wide: true },
  { header: 'BY', value: (b) => b.created_by, wide: true },
  { header: 'CREATED', value: (b) => b.created_at, wide: true },
  { header: 'FINISHED', value: (b) => b.finished_at, wide: true },
];

function whole(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a whole number of at least 1, got "${v}"`);
  return n;
}

export function backfillCommand(): Command {
  // Positional: `backfill ls JOB --address X` gives --address to ls, not to this command.
  const cmd = withOutput(withClientOptions(new Command('backfill').enablePositionalOptions()))
    .description("run every tick of a job's schedule in [--from, --to] (in the job's time zone), each once, a few at a time")
    .argument('[job]', 'job name')
    .option('--from <time>', 'first tick to run (RFC 3339, or YYYY-MM-DDTHH:MM)')
    .option('--to <time>', 'last tick to run (inclusive; not in the future)')
    .addOption(new Option('-p, --parallelism <n>', 'runs at a time').default('1'))
    .option('--dry-run', 'list the ticks; run nothing')
    .option('-w, --wait', 'follow the backfill until it ends (exit 1 when a run failed)')
    .action((job: string | undefined, opts: Record<string, unknown>) =>
      run(async () => {
        if (!job) throw new UsageError('name the job to backfill: kairos backfill JOB --from TIME --to TIME');
        if (!opts.from || !opts.to) throw new UsageError('--from and --to are required');
        const format = formatOf(opts);
        const client = clientOf(opts);
        const made = await client.backfill(job, {
          from: String(opts.from),
          to: String(opts.to),
          parallelism: whole(String(opts.parallelism), '--parallelism'),
          dry_run: opts.dryRun === true,
        });
        if ('dry_run' in made) {
          if (format === 'json' || format === 'yaml') print(format, made, []);
          else {
            process.stdout.write(made.ticks.map((t) => `${t}\n`).join(''));
            process.stderr.write(`${made.ticks.length} ticks would run, ${made.parallelism} at a time (dry run).\n`);
          }
          return;
        }
        let b: BackfillView = made;
        if (format === 'table' || format === 'wide') process.stderr.write(`Backfill ${b.id} of "${job}": ${b.ticks} ticks, ${b.parallelism} at a time.\n`);
        if (opts.wait === true) {
          let shown = '';
          while (b.state === 'running') {
            const line = `${b.dispatched}/${b.ticks} started, ${b.running} running, ${b.succeeded} ok, ${b.failed} failed, ${b.skipped} skipped`;
            if (line !== shown && (format === 'table' || format === 'wide')) process.stderr.write(`${line}\n`);
            shown = line;
            await new Promise((r) => setTimeout(r, 1000));
            b = await client.getBackfill(job, b.id);
          }
        }
        print(format, b, BACKFILL_COLUMNS);
        if (opts.wait === true && (b.failed > 0 || b.skipped > 0 || b.state === 'cancelled')) process.exitCode = 1;
      }),
    );

  withOutput(withClientOptions(cmd.command('ls')))
    .description("a job's backfills, newest first")
    .argument('<job>', 'job name')
    .action((job: string, opts: Record<string, unknown>) => run(async () => print(formatOf(opts), await clientOf(opts).backfills(job), BACKFILL_COLUMNS)));

  withOutput(withClientOptions(cmd.command('cancel')))
    .description('stop starting the ticks of a backfill (runs under way finish)')
    .argument('<job>', 'job name')
    .argument('<id>', 'backfill id (see backfill ls)')
    .action((job: string, id: string, opts: Record<string, unknown>) => run(async () => print(formatOf(opts), await clientOf(opts).cancelBackfill(job, id), BACKFILL_COLUMNS)));
  return cmd;
}
