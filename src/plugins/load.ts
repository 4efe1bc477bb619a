/**
 * Loads third-party plugins at agent start: modules named in the config (`plugins:` /
 * `--plugin`) and executables found in `--plugin-dir`. A misconfigured plugin (a module that
 * fails to load or exports nothing usable, a name already taken) makes loading throw, so the
 * agent refuses to start instead of running with a silent gap in its executors.
 */
import { pathToFileURL } from 'node:url';
import type { Executor } from '../executors/types.js';
import type { KairosPlugin, KairosPluginFactory, PluginContext } from '../plugin.js';
import type { Processor } from '../processors/types.js';
import type { Logger } from '../util/log.js';
import { ContainedExecutor, ContainedProcessor } from './contain.js';
import { discoverExecutables } from './discover.js';
import { ExecExecutor } from './exec-executor.js';
import { ExecProcessor } from './exec-processor.js';
import { errorMessage } from './outcome.js';
import { resolveModule } from './resolve.js';

export interface PluginInfo {
  name: string;
  kind: 'executor' | 'processor';
  form: 'module' | 'executable';
  /** The package name or path as configured (modules), or the executable's absolute path. */
  source: string;
  /** The package's version (package modules only). */
  version?: string;
}

export interface LoadedPlugins {
  executors: Executor[];
  processors: Processor[];
  plugins: PluginInfo[];
}

/** Names the agent's own executors and processors use; a plugin may not take them. */
export const BUILTIN_EXECUTOR_NAMES = ['shell', 'http', 'grpc', 'nats', 'rabbitmq'];
export const BUILTIN_PROCESSOR_NAMES = ['log', 'files', 'syslog', 'fluent'];

export interface LoadPluginsOptions {
  /** Package names or paths (./, ../ or /), in config order. */
  modules: string[];
  /** The executable plugin directory, or null for none. */
  dir: string | null;
  /** Where paths and package names resolve from (the config file's directory). */
  baseDir: string;
  nodeName: string;
  log: Logger;
  /** Deadline of one executable processor run (default 30 s). */
  processorTimeoutMs?: number;
  /** Names taken by built-ins; defaults to the lists above. */
  reserved?: { executors: string[]; processors: string[] };
}

export async function loadPlugins(o: LoadPluginsOptions): Promise<LoadedPlugins> {
  const loaded: LoadedPlugins = { executors: [], processors: [], plugins: [] };
  const owners = new Map<string, string>();
  const reserved = o.reserved ?? { executors: BUILTIN_EXECUTOR_NAMES, processors: BUILTIN_PROCESSOR_NAMES };
  for (const name of reserved.executors) owners.set(`executor:${name}`, `the built-in executor "${name}"`);
  for (const name of reserved.processors) owners.set(`processor:${name}`, `the built-in processor "${name}"`);
  const claim = (info: PluginInfo): void => {
    const key = `${info.kind}:${info.name}`;
    const owner = owners.get(key);
    const self = describe(info);
    if (owner !== undefined) throw new Error(`${self} clashes with ${owner}`);
    owners.set(key, self);
    loaded.plugins.push(info);
  };

  for (const spec of o.modules) {
    const { plugin, version } = await importPlugin(spec, o);
    const base = { form: 'module' as const, source: spec, ...(version === undefined ? {} : { version }) };
    for (const executor of plugin.executors ?? []) {
      claim({ name: executor.name, kind: 'executor', ...base });
      loaded.executors.push(new ContainedExecutor(executor));
    }
    for (const processor of plugin.processors ?? []) {
      claim({ name: processor.name, kind: 'processor', ...base });
      loaded.processors.push(new ContainedProcessor(processor));
    }
    o.log.info({ plugin: spec, version, executors: names(plugin.executors), processors: names(plugin.processors) }, 'plugin module loaded');
  }

  if (o.dir !== null) {
    for (const found of discoverExecutables(o.dir, o.log)) {
      claim({ name: found.name, kind: found.kind, form: 'executable', source: found.file });
      if (found.kind === 'executor') {
        loaded.executors.push(new ExecExecutor(found.name, found.file));
      } else {
        const options = o.processorTimeoutMs === undefined ? {} : { timeoutMs: o.processorTimeoutMs };
        loaded.processors.push(new ExecProcessor(found.name, found.file, options));
      }
      o.log.info({ plugin: found.file, kind: found.kind, name: found.name }, 'executable plugin found');
    }
  }
  return loaded;
}

function describe(info: PluginInfo): string {
  return `${info.kind} plugin "${info.name}" (${info.form} ${info.source})`;
}

function names(list: Array<{ name: string }> | undefined): string[] {
  return (list ?? []).map((x) => x.name);
}

/** Imports one module and checks its default export; every failure names the module. */
async function importPlugin(spec: string, o: LoadPluginsOptions): Promise<{ plugin: KairosPlugin; version?: string }> {
  const fail = (reason: string, cause?: unknown): Error => new Error(`plugin module "${spec}": ${reason}`, { cause });
  let file: string;
  let version: string | undefined;
  try {
    ({ file, version } = resolveModule(spec, o.baseDir));
  } catch (err) {
    throw fail(`cannot resolve: ${errorMessage(err)}`, err);
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    throw fail(`failed to load ${file}: ${errorMessage(err)}`, err);
  }
  let value = mod.default;
  if (value === undefined) throw fail('has no default export (expected a KairosPlugin or a factory returning one)');
  if (typeof value === 'function') {
    const context: PluginContext = { nodeName: o.nodeName, log: o.log.child({ plugin: spec }) };
    try {
      value = await (value as KairosPluginFactory)(context);
    } catch (err) {
      throw fail(`plugin factory threw: ${errorMessage(err)}`, err);
    }
  }
  const problem = pluginProblem(value);
  if (problem) throw fail(problem);
  return { plugin: value as KairosPlugin, ...(version === undefined ? {} : { version }) };
}

/** Why `value` is not a usable KairosPlugin, or null. */
function pluginProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return `default export is ${typeof value}, expected a KairosPlugin object`;
  const p = value as { executors?: unknown; processors?: unknown };
  for (const key of ['executors', 'processors'] as const) {
    if (p[key] !== undefined && !Array.isArray(p[key])) return `"${key}" must be an array`;
  }
  const executors = (p.executors ?? []) as unknown[];
  const processors = (p.processors ?? []) as unknown[];
  if (executors.length === 0 && processors.length === 0) return 'exports no executors and no processors';
  for (const [i, e] of executors.entries()) {
    const problem = shapeProblem(e, 'execute');
    if (problem) return `executors[${i}] ${problem}`;
  }
  for (const [i, e] of processors.entries()) {
    const problem = shapeProblem(e, 'process');
    if (problem) return `processors[${i}] ${problem}`;
  }
  return null;
}

function shapeProblem(value: unknown, run: 'execute' | 'process'): string | null {
  if (typeof value !== 'object' || value === null) return 'is not an object';
  const v = value as Record<string, unknown>;
  if (typeof v.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(v.name)) {
    return `has no valid name (letters, digits, _ and -), got ${JSON.stringify(v.name)}`;
  }
  if (typeof v.validate !== 'function') return `"${v.name}" has no validate() method`;
  if (typeof v[run] !== 'function') return `"${v.name}" has no ${run}() method`;
  return null;
}
