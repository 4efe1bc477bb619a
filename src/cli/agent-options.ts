/**
 * The agent's options (agent/options.ts AGENT_OPTIONS) as commander flags, and
 * back: shared by `kairos agent` (all of them) and `kairos token` (the ones that
 * say where the store is), so both read flags the same way.
 */
import { Option, type Command } from 'commander';
import type { RawOptions } from '../agent/config.js';
import { AGENT_OPTIONS, type OptionDef } from '../agent/options.js';

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Adds `--config` and a flag per option (all of them when `names` is absent). */
export function addAgentOptions(cmd: Command, configHelp: string, names?: readonly string[]): Command {
  cmd.addOption(new Option('--config <file>', configHelp));
  for (const def of selected(names)) {
    let opt: Option;
    if (def.kind === 'bool') {
      opt = new Option(`--${def.name} [bool]`, def.description).argParser((v) => v);
    } else if (def.repeatable) {
      opt = new Option(`--${def.name} <value>`, def.description).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    } else {
      opt = new Option(`--${def.name} <value>`, def.description);
    }
    if (def.ignored) opt.hideHelp();
    cmd.addOption(opt);
  }
  return cmd;
}

/** The options given on the command line, keyed by flag name, for resolveConfig. */
export function agentFlags(opts: Record<string, unknown>, names?: readonly string[]): RawOptions {
  const flags: RawOptions = { config: opts.config as string | undefined };
  for (const def of selected(names)) {
    const v = opts[camel(def.name)];
    if (v === undefined) continue;
    flags[def.name] = def.kind === 'bool' && v === true ? true : (v as string | string[]);
  }
  return flags;
}

function selected(names?: readonly string[]): OptionDef[] {
  return names ? AGENT_OPTIONS.filter((o) => names.includes(o.name)) : AGENT_OPTIONS;
}
