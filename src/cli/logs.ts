/** `kairos logs JOB [EXEC]`: the output of a job's latest execution, or of the one named. */
import { Command } from 'commander';
import { ApiError, EXIT, UsageError } from '../client/http.js';
import { clientOf, run, withClientOptions } from './output.js';

export function logsCommand(): Command {
  return withClientOptions(
    new Command('logs')
      .description("print the output of a job's latest execution (or of execution EXEC)")
      .argument('<job>', 'job name')
      .argument('[exec]', 'execution id (default: the latest)')
      .option('-f, --follow', 'follow the output (not available yet)'),
  ).action((job: string, exec: string | undefined, opts: Record<string, unknown>) =>
    run(async () => {
      if (opts.follow) throw new UsageError('logs -f is not available yet: agents have no output stream endpoint; run `kairos logs` again instead');
      const client = clientOf(opts);
      let execution;
      if (exec !== undefined) execution = await client.execution(job, exec);
      else {
        const page = await client.executions(job, { start: 0, end: 1, order: 'desc' });
        execution = page.items[0];
        if (!execution) throw new ApiError(`job "${job}" has no executions yet`, 404, 'KAIROS_EXECUTION_NOT_FOUND');
      }
      process.stdout.write(execution.output);
      const state = execution.finished_at === null ? 'still running' : execution.success ? 'succeeded' : `failed${execution.exit_code !== null ? ` (exit ${execution.exit_code})` : ''}`;
      if (process.stderr.isTTY) process.stderr.write(`-- execution ${execution.id} on ${execution.node_name}, ${state}${execution.output_truncated ? ', output truncated' : ''}\n`);
      return EXIT.ok;
    }),
  );
}
