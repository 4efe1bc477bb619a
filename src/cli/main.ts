/**
 * `kairos` command line. dkron's single-dash flags (`-server`, `-tag k=v`)
 * are accepted by rewriting them to the double-dash form before parsing.
 */
import { backfillCommand } from './backfill.js';
import { Command } from 'commander';
import { ConfigError, normalizeArgv, resolveConfig } from '../agent/config.js';
import { addAgentOptions, agentFlags } from './agent-options.js';
import type { Agent } from '../agent/agent.js';
import { VERSION } from '../agent/version.js';
import { createLogger } from '../util/log.js';
import { tokenCommand } from './token.js';
import { jobsCommand } from './jobs.js';
import { logsCommand } from './logs.js';
import { clusterCommands } from './cluster.js';
import { applyCommands } from './apply.js';
import { importCommand } from './importer.js';
import { completionCommand } from './completion.js';
import { usageExits } from './output.js';

function agentCommand(): Command {
  const cmd = addAgentOptions(
    new Command('agent').description('start a Kairos agent (API, UI, scheduler when leader, executor)'),
    'JSON or YAML config file (keys = flag names)',
  );
  cmd.action(async (opts: Record<string, unknown>) => {
    const flags = agentFlags(opts);
    let config;
    try {
      config = resolveConfig(flags, process.env);
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`kairos: ${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
    const log = createLogger({ level: config.logLevel, format: config.logFormat });
    let agent: Agent;
    try {
      // Loaded here, not at the top: client commands (jobs, apply...) must not pay for the agent's start-up.
      const { Agent } = await import('../agent/agent.js');
      agent = await Agent.open(config, log);
    } catch (err) {
      log.fatal({ err: (err as Error).message }, 'agent: failed to open the store');
      process.exit(1);
    }
    let signals = 0;
    const onSignal = (sig: string): void => {
      signals++;
      if (signals > 1) {
        log.warn(`agent: second ${sig}: exiting now`);
        process.exit(1);
      }
      void agent.stop();
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    // dkron reloads on SIGHUP; Node's default would kill the agent mid-run (systemctl reload).
    process.on('SIGHUP', () => log.warn('agent: SIGHUP received: Kairos does not reload its configuration; restart the agent to apply changes'));
    process.on('unhandledRejection', (err) => log.error({ err }, 'agent: unhandled rejection (bug; please report)'));
    try {
      await agent.start();
    } catch (err) {
      log.fatal({ err: (err as Error).message }, 'agent: failed to start');
      await agent.stop().catch(() => undefined);
      process.exit(1);
    }
    await agent.stopped;
    process.exit(0);
  });
  return cmd;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('kairos')
    .description('Kairos: fault-tolerant distributed cron (dkron compatible)')
    .version(VERSION, '-v, --version')
    // Options after a subcommand are that subcommand's (`backfill ls JOB --address X`), as git does.
    .enablePositionalOptions();
  program.addCommand(agentCommand());
  program.addCommand(tokenCommand());
  // Client commands (any agent, through the /v1 API): usage errors exit 2.
  program.addCommand(usageExits(jobsCommand()));
  program.addCommand(usageExits(logsCommand()));
  program.addCommand(usageExits(backfillCommand()));
  for (const c of clusterCommands()) program.addCommand(usageExits(c));
  for (const c of applyCommands()) program.addCommand(usageExits(c));
  program.addCommand(usageExits(importCommand()));
  program.addCommand(usageExits(completionCommand()));
  program.command('version').description('print the version').action(() => {
    process.stdout.write(`Kairos ${VERSION}\n`);
  });
  await program.parseAsync(normalizeArgv(argv), { from: 'user' });
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`kairos: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
