/**
 * `kairos import crontab FILE`: a crontab's lines as Kairos jobs (src/cli/crontab.ts).
 * Dry run by default: prints the YAML it would apply (ready for `kairos apply -f`);
 * `--apply` creates them through the bulk endpoint. Lines it can't import are
 * reported on stderr with their line numbers.
 */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { yaml } from '../util/yaml.js';
import { UsageError } from '../client/http.js';
import { isValidTimezone } from '../scheduler/schedule.js';
import { parseCrontab } from './crontab.js';
import { clientOf, run, withClientOptions } from './output.js';

export function importCommand(): Command {
  const cmd = new Command('import').description('turn other schedulers\' definitions into Kairos jobs');
  withClientOptions(
    cmd
      .command('crontab')
      .description('import a crontab: prints the jobs as YAML (dry run) unless --apply')
      .argument('<file>', 'a user crontab (crontab -l > FILE), /etc/crontab or a cron.d file with --system; - for stdin')
      .option('--system', 'system format: a user column before the command')
      .addOption(new Option('--timezone <zone>', "time zone of the schedules (default: this machine's)"))
      .option('--tag <k=v>', 'tag every job (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
      .option('--apply', 'create the jobs (through POST /v1/jobs/bulk) instead of printing them'),
  ).action((file: string, opts: Record<string, unknown>) =>
    run(async () => {
      let text: string;
      try {
        text = readFileSync(file === '-' ? 0 : file, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
      }
      const timezone = (opts.timezone as string | undefined) ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (!isValidTimezone(timezone)) throw new UsageError(`unknown time zone "${timezone}"`);
      const tags: Record<string, string> = {};
      for (const t of (opts.tag as string[] | undefined) ?? []) {
        const eq = t.indexOf('=');
        if (eq <= 0) throw new UsageError(`--tag must be k=v, got "${t}"`);
        tags[t.slice(0, eq)] = t.slice(eq + 1);
      }
      const source = file === '-' ? 'crontab' : basename(file);
      const result = parseCrontab(text, { system: opts.system === true, timezone, tags, source });
      for (const p of result.problems) process.stderr.write(`${source}:${p.line}: ${p.kind === 'note' ? 'note' : 'skipped'}: ${p.reason}\n    ${p.text.trim()}\n`);
      if (!opts.apply) {
        process.stdout.write(result.jobs.map((j, i) => `# ${source}:${result.lines[i]}\n${yaml().stringify(j, { lineWidth: 0 })}`).join('---\n'));
        process.stderr.write(`${result.jobs.length} job${result.jobs.length === 1 ? '' : 's'} (dry run; --apply creates them)\n`);
        return;
      }
      const answer = await clientOf(opts).bulk({ jobs: result.jobs, prune: null, dry_run: false });
      process.stderr.write(`${answer.created.length} created, ${answer.updated.length} updated, ${answer.unchanged.length} unchanged\n`);
    }),
  );
  return cmd;
}
