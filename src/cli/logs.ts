/** `kairos logs JOB [EXEC] [-f]`: the output of a job's latest execution, or of the one named; -f follows it live. */
import { Command } from 'commander';
import { ApiError, EXIT } from '../client/http.js';
import { clientOf, run, withClientOptions } from './output.js';

export function logsCommand(): Command {
  return withClientOptions(
    new Command('logs')
      .description("print the output of a job's latest execution (or of execution EXEC)")
      .argument('<job>', 'job name')
      .argument('[exec]', 'execution id (default: the latest)')
      .option('-f, --follow', 'follow the output of a running execution until it ends (exit 1 when it fails)'),
  ).action((job: string, exec: string | undefined, opts: Record<string, unknown>) =>
    run(async () => {
      const client = clientOf(opts);
      let execution;
      if (exec !== undefined) execution = await client.execution(job, exec);
      else {
        const page = await client.executions(job, { start: 0, end: 1, order: 'desc' });
        execution = page.items[0];
        if (!execution) throw new ApiError(`job "${job}" has no executions yet`, 404, 'KAIROS_EXECUTION_NOT_FOUND');
      }
      if (opts.follow) {
        // The stream sends the output so far, then each chunk, then the record (any agent relays it).
        const done = await client.follow(job, execution.id, (text) => process.stdout.write(text), (message) => process.stderr.write(`-- ${message}\n`));
        if (done) execution = done;
        const state = !done ? 'stream ended before the execution finished' : done.success ? 'succeeded' : `failed${done.exit_code !== null ? ` (exit ${done.exit_code})` : ''}`;
        if (process.stderr.isTTY || !done?.success) process.stderr.write(`-- execution ${execution.id} on ${execution.node_name}, ${state}\n`);
        return done?.success ? EXIT.ok : EXIT.error;
      }
      process.stdout.write(execution.output);
      const state = execution.finished_at === null ? 'still running' : execution.success ? 'succeeded' : `failed${execution.exit_code !== null ? ` (exit ${execution.exit_code})` : ''}`;
      if (process.stderr.isTTY) process.stderr.write(`-- execution ${execution.id} on ${execution.node_name}, ${state}${execution.output_truncated ? ', output truncated' : ''}\n`);
      return EXIT.ok;
    }),
  );
}
