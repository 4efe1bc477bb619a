/** `kairos jobs ls|get|run|toggle|rm|executions|skips`: jobs on any agent, through the /v1 API. */
import type { WorkflowGraph } from '../core/workflow.js';
import { Command, Option } from 'commander';
import type { Execution, Job } from '../job/types.js';
import type { SkipRecord } from '../store/types.js';
import { UsageError } from '../client/http.js';
import { ago, clientOf, formatOf, print, run, withClientOptions, withOutput, type Column } from './output.js';

export const JOB_COLUMNS: Column<Job>[] = [
  { header: 'NAME', value: (j) => j.name },
  { header: 'SCHEDULE', value: (j) => (j.depends_on?.length ? `after ${j.depends_on.join('+')}${j.schedule ? ` per ${j.schedule}` : ''}` : j.schedule || (j.parent_job ? `after ${j.parent_job}` : '')) },
  { header: 'STATUS', value: (j) => (j.disabled ? 'disabled' : j.status || 'untriggered') },
  { header: 'NEXT', value: (j) => (j.disabled ? '' : ago(j.next)) },
  { header: 'LAST SUCCESS', value: (j) => ago(j.last_success) },
  { header: 'LAST ERROR', value: (j) => ago(j.last_error) },
  { header: 'TIMEZONE', value: (j) => j.timezone, wide: true },
  { header: 'EXECUTOR', value: (j) => j.executor, wide: true },
  { header: 'SUCCESS', value: (j) => j.success_count, wide: true },
  { header: 'ERRORS', value: (j) => j.error_count, wide: true },
  { header: 'TAGS', value: (j) => j.tags, wide: true },
  { header: 'PARENT', value: (j) => (j.depends_on?.length ? j.depends_on.join(',') : j.parent_job), wide: true },
  { header: 'COMMAND', value: (j) => j.executor_config?.command, wide: true },
];

export const EXECUTION_COLUMNS: Column<Execution>[] = [
  { header: 'ID', value: (e) => e.id },
  { header: 'STARTED', value: (e) => e.started_at },
  { header: 'RESULT', value: (e) => (e.finished_at === null ? 'running' : e.success ? 'success' : 'failed') },
  { header: 'EXIT', value: (e) => e.exit_code },
  { header: 'NODE', value: (e) => e.node_name },
  { header: 'TRIGGER', value: (e) => e.trigger },
  { header: 'ATTEMPT', value: (e) => e.attempt, wide: true },
  { header: 'GROUP', value: (e) => e.group, wide: true },
  { header: 'FINISHED', value: (e) => e.finished_at, wide: true },
  { header: 'SCHEDULED', value: (e) => e.scheduled_at, wide: true },
];

export const SKIP_COLUMNS: Column<SkipRecord>[] = [
  { header: 'SCHEDULED', value: (s) => s.scheduled_at },
  { header: 'COUNT', value: (s) => s.count },
  { header: 'CODE', value: (s) => s.code },
  { header: 'REASON', value: (s) => s.reason },
  { header: 'UNTIL', value: (s) => s.until, wide: true },
  { header: 'TRIGGER', value: (s) => s.trigger, wide: true },
  { header: 'NODE', value: (s) => s.node, wide: true },
  { header: 'RECORDED', value: (s) => s.recorded_at, wide: true },
];

function count(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} must be a whole number, got "${v}"`);
  return n;
}

export function jobsCommand(): Command {
  const jobs = new Command('jobs').alias('job').description('list, inspect, run, toggle and delete jobs on an agent');
  const sub = (name: string, description: string): Command => withOutput(withClientOptions(jobs.command(name).description(description)));

  sub('ls', 'list jobs')
    .alias('list')
    .option('-q, --query <text>', 'only jobs whose name or display name contains this')
    .option('--status <status>', 'only jobs with this status (success, failed, partially_failed, untriggered)')
    .option('--disabled <bool>', 'only disabled (true) or enabled (false) jobs')
    .option('--label <k=v>', 'only jobs with this metadata label (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .action((opts: Record<string, unknown>) =>
      run(async () => {
        const format = formatOf(opts);
        const query: Record<string, string> = {};
        if (opts.query) query.q = String(opts.query);
        if (opts.status) query.status = String(opts.status);
        if (opts.disabled) query.disabled = String(opts.disabled);
        for (const l of (opts.label as string[] | undefined) ?? []) {
          const eq = l.indexOf('=');
          if (eq <= 0) throw new UsageError(`--label must be key=value, got "${l}"`);
          query[`metadata[${l.slice(0, eq)}]`] = l.slice(eq + 1);
        }
        print(format, await clientOf(opts).listJobs(query), JOB_COLUMNS);
      }),
    );

  sub('get', 'show one job')
    .argument('<name>', 'job name')
    .action((name: string, opts: Record<string, unknown>) =>
      run(async () => {
        const format = formatOf(opts);
        const job = await clientOf(opts).getJob(name);
        if (format === 'table' || format === 'wide') {
          // One job: every field, one per line.
          const rows = Object.entries(job).map(([k, v]) => ({ k, v }));
          print(format, rows, [
            { header: 'FIELD', value: (r) => r.k },
            { header: 'VALUE', value: (r) => r.v },
          ]);
        } else print(format, job, JOB_COLUMNS);
      }),
    );

  sub('run', 'run a job now (answers once the run is dispatched)')
    .argument('<name>', 'job name')
    .option('--force', 'run even if a forbid-concurrency job is running')
    .action((name: string, opts: Record<string, unknown>) =>
      run(async () => {
        const format = formatOf(opts);
        const job = await clientOf(opts).runJob(name, opts.force === true);
        if (format === 'table' || format === 'wide') process.stderr.write(`Job "${name}" started.\n`);
        print(format, job, JOB_COLUMNS);
      }),
    );

  sub('toggle', 'enable a disabled job, or disable an enabled one')
    .argument('<name>', 'job name')
    .action((name: string, opts: Record<string, unknown>) =>
      run(async () => {
        const format = formatOf(opts);
        const job = await clientOf(opts).toggleJob(name);
        if (format === 'table' || format === 'wide') process.stderr.write(`Job "${name}" ${job.disabled ? 'disabled' : 'enabled'}.\n`);
        print(format, job, JOB_COLUMNS);
      }),
    );

  sub('rm', 'delete a job and its history')
    .alias('delete')
    .argument('<name...>', 'job names')
    .action((names: string[], opts: Record<string, unknown>) =>
      run(async () => {
        const format = formatOf(opts);
        const client = clientOf(opts);
        const deleted: Job[] = [];
        for (const name of names) {
          deleted.push(await client.deleteJob(name));
          if (format === 'table' || format === 'wide') process.stderr.write(`Job "${name}" deleted.\n`);
        }
        if (format === 'json' || format === 'yaml') print(format, names.length === 1 ? (deleted[0] as Job) : deleted, JOB_COLUMNS);
      }),
    );

  sub('executions', "a job's executions, newest first")
    .alias('execs')
    .argument('<name>', 'job name')
    .addOption(new Option('-n, --limit <n>', 'how many').default('20'))
    .action((name: string, opts: Record<string, unknown>) =>
      run(async () => {
        const format = formatOf(opts);
        const page = await clientOf(opts).executions(name, { start: 0, end: count(String(opts.limit), '--limit') });
        print(format, page.items, EXECUTION_COLUMNS);
      }),
    );

  sub('skips', "ticks of a job that did not run, and why (newest first)")
    .argument('<name>', 'job name')
    .addOption(new Option('-n, --limit <n>', 'how many').default('20'))
    .action((name: string, opts: Record<string, unknown>) =>
      run(async () => {
        const format = formatOf(opts);
        const page = await clientOf(opts).skips(name, { start: 0, end: count(String(opts.limit), '--limit') });
        print(format, page.items, SKIP_COLUMNS);
      }),
    );
  sub('workflow', "a job's workflow (depends_on and parent_job links) and the state of each job in one run")
    .alias('wf')
    .argument('<name>', 'job name')
    .option('--run <time>', 'the run (RFC 3339, as listed by -o json); default the newest')
    .action((name: string, opts: Record<string, unknown>) =>
      run(async () => {
        const format = formatOf(opts);
        const graph = await clientOf(opts).workflow(name, opts.run === undefined ? undefined : String(opts.run));
        if (format === 'json' || format === 'yaml') {
          print<WorkflowGraph>(format, graph, []);
          return;
        }
        process.stderr.write(graph.run ? `Run ${graph.run}${graph.truncated ? ' (graph cut at 200 jobs)' : ''}\n` : 'No run yet.\n');
        const parents = new Map<string, string[]>();
        for (const e of graph.edges) parents.set(e.to, [...(parents.get(e.to) ?? []), e.from]);
        print(format, graph.nodes.map((n) => ({ ...n, after: (parents.get(n.job) ?? []).join(',') })), WORKFLOW_COLUMNS);
      }),
    );
  return jobs;
}

type WorkflowRow = WorkflowGraph['nodes'][number] & { after?: string };

const WORKFLOW_COLUMNS: Column<WorkflowRow>[] = [
  { header: 'JOB', value: (n) => n.job },
  { header: 'STATE', value: (n) => n.state },
  { header: 'AFTER', value: (n) => n.after ?? '' },
  { header: 'WINDOW', value: (n) => n.key },
  { header: 'STARTED', value: (n) => n.started_at, wide: true },
  { header: 'FINISHED', value: (n) => n.finished_at, wide: true },
  { header: 'KIND', value: (n) => n.kind, wide: true },
  { header: 'EXECUTIONS', value: (n) => n.executions.join(','), wide: true },
];
