/**
 * Agent settings from four sources, highest first: command-line flags, the
 * config file (`--config`, JSON or YAML), `KAIROS_*` environment variables
 * (`DKRON_*` read as a fallback for migrating users), built-in defaults.
 * One table (options.ts) defines every option, so the CLI, the file keys and
 * the env names can't drift apart. Keys are dkron's flag names.
 */
import { parseCpu, parseMemory, type Capacity } from '../job/resources.js';
import { readFileSync } from 'node:fs';
import { availableParallelism, hostname, totalmem } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { yaml } from '../util/yaml.js';
import { parseGoDuration } from '../util/duration.js';
import { compileTemplate } from '../notify/template.js';
import { TEMPLATE_FIELDS } from '../notify/report.js';
import type { BackendAuthConfig, BackendOptions } from '../backends/types.js';
import { backendNames, findBackend, UNSUPPORTED } from '../backends/catalog.js';
import { AGENT_OPTIONS } from './options.js';

export interface HttpAddr {
  host: string;
  port: number;
}

export interface AgentConfig {
  server: boolean;
  nodeName: string;
  dataDir: string;
  httpAddr: HttpAddr;
  logLevel: string;
  logFormat: 'text' | 'json';
  /** A name from backends/catalog.ts (aliases resolved). */
  backend: string;
  backendMachines: string[];
  keyspace: string;
  leaseTtlMs: number;
  /** How long before a tick it is dispatched (0: on the tick). */
  dispatchLeadMs: number;
  join: string[];
  tags: Record<string, string>;
  shutdownTimeoutMs: number;
  outputLimit: number;
  historyLimit: number;
  retryBackoffMs: number;
  maxParallel: number;
  /** Spawner processes for job processes; 0: spawn from the agent process. */
  spawners: number;
  /** What this agent offers to jobs that declare `resources` (placement). */
  capacity: Capacity;
  ui: boolean;
  security: SecurityConfig;
  backendAuth: BackendAuthConfig;
  limits: { maxJobs: number; runRatePerMin: number };
  notify: NotifyConfig;
  metrics: MetricsConfig;
  plugins: PluginsConfig;
  /** Options given that Kairos ignores, to warn about once logging is up. */
  ignored: string[];
}

export type NotifyOn = 'failure' | 'success' | 'always' | 'never' | 'change';
export const NOTIFY_ON: readonly NotifyOn[] = ['failure', 'success', 'always', 'never', 'change'];

export interface WebhookConfig {
  endpoint: string;
  payload: string;
  headers: string[];
}

export interface NotifyConfig {
  notifyOn: NotifyOn;
  notifySkip: boolean;
  uiUrl: string | null;
  slack: { webhookUrl: string | null; channel: string | null };
  webhook: WebhookConfig | null;
  preWebhook: WebhookConfig | null;
  mail: {
    host: string;
    port: number;
    username: string | null;
    password: string | null;
    from: string;
    to: string[];
    subjectPrefix: string;
    payload: string | null;
    tls: boolean;
  } | null;
  queueSize: number;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
}

export interface PluginsConfig {
  modules: string[];
  dir: string | null;
  /** Where relative module paths resolve from: the config file's directory, else the working directory. */
  baseDir: string;
  logDir: string;
  processorTimeoutMs: number;
}

export interface MetricsConfig {
  prometheus: boolean;
  statsdAddr: string | null;
  dogStatsdAddr: string | null;
  dogStatsdTags: string[];
}

export interface SecurityConfig {
  /** auto: tokens are required once one exists; required: always, and never expose an agent without auth. */
  auth: 'auto' | 'required';
  corsOrigins: string[];
  tls: { cert: string; key: string; clientCa: string | null } | null;
}

export class ConfigError extends Error {}

type RawValue = string | boolean | string[] | number | Record<string, unknown> | null | undefined;
export type RawOptions = Record<string, RawValue>;

/** dkron accepts `-server` and `-tag=x`; normalise single-dash long flags to `--`. */
export function normalizeArgv(argv: string[]): string[] {
  return argv.map((a) => (/^-[a-zA-Z][a-zA-Z0-9-]+(=.*)?$/.test(a) ? `-${a}` : a));
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const key = name.toUpperCase().replace(/-/g, '_');
  // An empty variable is unset, as in dkron (viper): `KAIROS_SERVER=` must not
  // turn the server on, nor hide a DKRON_* fallback.
  const pick = (v: string | undefined): string | undefined => (v === '' ? undefined : v);
  return pick(env[`KAIROS_${key}`]) ?? pick(env[`DKRON_${key}`]);
}

function fileValue(file: Record<string, unknown>, name: string): RawValue {
  for (const key of [name, name.replace(/-/g, '_')]) {
    if (key in file) return file[key] as RawValue;
  }
  // dkron's YAML uses `tags:` (a map) and `backend_machine`/`join` lists.
  if (name === 'tag' && 'tags' in file) return file.tags as RawValue;
  if (name === 'plugin' && 'plugins' in file) return file.plugins as RawValue;
  return undefined;
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = /\.json$/i.test(path) ? JSON.parse(text) : yaml().parse(text);
  } catch (err) {
    throw new ConfigError(`cannot parse config file ${path}: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${path} must hold a map of options`);
  const known = new Set(AGENT_OPTIONS.flatMap((o) => [o.name, o.name.replace(/-/g, '_')]).concat(['tags', 'plugins', 'config']));
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) throw new ConfigError(`config file ${path}: unknown option "${key}"`);
  }
  return parsed as Record<string, unknown>;
}

function toList(v: RawValue): string[] {
  if (v === undefined || v === null || v === '') return [];
  if (Array.isArray(v)) return v.flatMap((x) => String(x).split(',')).map((s) => s.trim()).filter(Boolean);
  if (typeof v === 'object') return Object.entries(v).map(([k, val]) => `${k}=${String(val)}`);
  return String(v)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Header entries: repeated flags and YAML lists keep their commas ("Accept: a, b"); a single string splits on commas (as dkron's env). */
function headerList(v: RawValue): string[] {
  if (Array.isArray(v)) return v.map((x) => String(x).trim()).filter(Boolean);
  return toList(v);
}

function toBool(name: string, v: RawValue): boolean {
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (['true', '1', 'yes', 'on', ''].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  throw new ConfigError(`option ${name}: expected true or false, got "${String(v)}"`);
}

/**
 * Merge the sources. `flags` holds only options given on the command line
 * (commander values, keyed by flag name), `env` the process environment.
 */
export function resolveConfig(flags: RawOptions, env: NodeJS.ProcessEnv): AgentConfig {
  const configPath = (flags.config as string | undefined) ?? envValue(env, 'config');
  const file = configPath ? readConfigFile(configPath) : {};
  const raw: Record<string, RawValue> = {};
  const ignored: string[] = [];
  for (const def of AGENT_OPTIONS) {
    let v: RawValue = flags[def.name];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) v = fileValue(file, def.name);
    // A key left empty in YAML (`node-name:`) parses as null: treat it as absent.
    if (v === undefined || v === null) v = envValue(env, def.name);
    if (v !== undefined && def.ignored) ignored.push(def.name);
    raw[def.name] = v ?? def.default;
  }

  const int = (name: string): number => {
    const v = raw[name];
    const n = typeof v === 'number' ? v : Number(String(v));
    if (!Number.isInteger(n) || n < 0) throw new ConfigError(`option ${name}: expected a whole number >= 0, got "${String(v)}"`);
    return n;
  };
  const duration = (name: string): number => {
    try {
      const ms = parseGoDuration(String(raw[name]));
      if (ms < 0) throw new Error('must not be negative');
      return ms;
    } catch (err) {
      throw new ConfigError(`option ${name}: ${(err as Error).message}`);
    }
  };

  // Longer would show runs as dispatched long before they start, and widen the window in which
  // a job disabled just before its tick still runs once.
  const dispatchLead = (ms: number): number => {
    if (ms > 10_000) throw new ConfigError('option dispatch-lead: at most 10s');
    return ms;
  };

  const spawners = (): number => {
    if (raw.spawners === undefined || raw.spawners === null || raw.spawners === '') return availableParallelism();
    const n = int('spawners');
    if (n > 256) throw new ConfigError(`option spawners: at most 256, got ${n}`);
    return n;
  };

  const capacity = (): Capacity => {
    const cpuRaw = raw['capacity-cpu'];
    const cpu = cpuRaw === undefined || cpuRaw === null || cpuRaw === '' ? availableParallelism() : parseCpu(String(cpuRaw));
    if (cpu === null) throw new ConfigError(`option capacity-cpu: expected a positive number of cores (4, 0.5 or 500m), got "${String(cpuRaw)}"`);
    const memRaw = raw['capacity-memory'];
    const memory = memRaw === undefined || memRaw === null || memRaw === '' ? totalmem() : parseMemory(String(memRaw));
    if (memory === null) throw new ConfigError(`option capacity-memory: expected a size such as 8Gi or 512Mi, got "${String(memRaw)}"`);
    const slots: Record<string, number> = {};
    for (const s of toList(raw.slot)) {
      const idx = s.indexOf('=');
      const n = Number(s.slice(idx + 1));
      if (idx <= 0 || !Number.isInteger(n) || n < 0) throw new ConfigError(`option slot: expected name=count, got "${s}"`);
      slots[s.slice(0, idx)] = n;
    }
    return { cpu, memory, slots };
  };

  const tags: Record<string, string> = {};
  for (const t of toList(raw.tag)) {
    const idx = t.indexOf('=');
    if (idx <= 0) throw new ConfigError(`option tag: expected key=value, got "${t}"`);
    tags[t.slice(0, idx)] = t.slice(idx + 1);
  }

  const backendEntry = findBackend(String(raw.backend));
  if (!backendEntry) {
    const asked = String(raw.backend);
    const why = UNSUPPORTED[asked];
    throw new ConfigError(`option backend: unknown backend "${asked}"${why ? ` (${why})` : ''}; the supported backends are ${backendNames()}`);
  }
  const backend = backendEntry.name;
  const logFormat = String(raw['log-format']);
  if (logFormat !== 'text' && logFormat !== 'json') throw new ConfigError(`option log-format: expected text or json, got "${logFormat}"`);
  const logLevel = String(raw['log-level']).toLowerCase();
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(logLevel)) {
    throw new ConfigError(`option log-level: expected debug, info, warn or error, got "${logLevel}"`);
  }

  const backendMachines = toList(raw['backend-machine']);
  const str = (name: string): string | null => {
    const v = raw[name];
    return v === undefined || v === null || v === '' ? null : String(v);
  };
  const auth = String(raw.auth);
  if (auth !== 'auto' && auth !== 'required') throw new ConfigError(`option auth: expected auto or required, got "${auth}"`);
  const corsOrigins = toList(raw['cors-origin']).map((o) => {
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      throw new ConfigError(`option cors-origin: expected an origin such as http://host:3000, got "${o}"`);
    }
    if (!/^https?:$/.test(url.protocol) || url.origin !== o.replace(/\/$/, '')) {
      throw new ConfigError(`option cors-origin: expected an origin (scheme://host[:port], no path), got "${o}"`);
    }
    return url.origin;
  });
  const tlsCert = str('tls-cert');
  const tlsKey = str('tls-key');
  if ((tlsCert === null) !== (tlsKey === null)) throw new ConfigError('option tls-cert: --tls-cert and --tls-key go together');
  const tlsClientCa = str('tls-client-ca');
  if (tlsClientCa !== null && tlsCert === null) throw new ConfigError('option tls-client-ca: needs --tls-cert and --tls-key (client certificates are an HTTPS feature)');
  const backendTlsCert = str('backend-tls-cert');
  const backendTlsKey = str('backend-tls-key');
  if ((backendTlsCert === null) !== (backendTlsKey === null)) {
    throw new ConfigError('option backend-tls-cert: --backend-tls-cert and --backend-tls-key go together');
  }
  const backendUser = str('backend-username');
  const backendPassword = str('backend-password');
  if ((backendUser === null) !== (backendPassword === null)) {
    throw new ConfigError('option backend-username: --backend-username and --backend-password go together');
  }
  const notifyOn = String(raw['notify-on']) as NotifyOn;
  if (!NOTIFY_ON.includes(notifyOn)) throw new ConfigError(`option notify-on: expected one of ${NOTIFY_ON.join(', ')}, got "${notifyOn}"`);
  const webhook = (prefix: string, legacy: boolean): WebhookConfig | null => {
    const endpoint = str(`${prefix}webhook-endpoint`) ?? (legacy ? str('webhook-url') : null);
    const headers = [...headerList(raw[`${prefix}webhook-headers`]), ...(legacy ? headerList(raw['webhook-header']) : [])];
    const payload = str(`${prefix}webhook-payload`);
    if (endpoint === null) return null;
    checkUrl(`${prefix}webhook-endpoint`, endpoint);
    return { endpoint, payload: payload ?? '', headers };
  };
  const slackUrl = str('slack-webhook-url');
  if (slackUrl !== null) checkUrl('slack-webhook-url', slackUrl);
  const uiUrl = str('ui-url');
  if (uiUrl !== null) checkUrl('ui-url', uiUrl);
  const mailHost = str('mail-host');
  const mailPort = int('mail-port');
  const mailUser = str('mail-username');
  for (const name of ['statsd-addr', 'dog-statsd-addr']) {
    const v = str(name);
    if (v !== null && !/^[^:\s]+:\d+$/.test(v)) throw new ConfigError(`option ${name}: expected host:port, got "${v}"`);
  }
  const notify: NotifyConfig = {
    notifyOn,
    notifySkip: toBool('notify-skip', raw['notify-skip']),
    uiUrl: uiUrl?.replace(/\/+$/, '') ?? null,
    slack: { webhookUrl: slackUrl, channel: str('slack-channel') },
    webhook: webhook('', true),
    preWebhook: webhook('pre-', false),
    mail:
      mailHost !== null && mailPort !== 0
        ? {
            host: mailHost,
            port: mailPort,
            username: mailUser,
            password: str('mail-password'),
            from: str('mail-from') ?? `kairos@${hostname()}`,
            to: toList(raw['mail-to']),
            subjectPrefix: raw['mail-subject-prefix'] === undefined ? '[Kairos]' : String(raw['mail-subject-prefix']),
            payload: str('mail-payload'),
            tls: toBool('mail-tls', raw['mail-tls']),
          }
        : null,
    queueSize: Math.max(1, int('notify-queue-size')),
    attempts: Math.max(1, int('notify-attempts')),
    backoffMs: duration('notify-backoff'),
    timeoutMs: Math.max(100, duration('notify-timeout')),
  };
  for (const name of ['webhook-payload', 'pre-webhook-payload', 'mail-payload']) {
    const source = str(name);
    if (source === null) continue;
    try {
      compileTemplate(source, TEMPLATE_FIELDS);
    } catch (err) {
      throw new ConfigError(`option ${name}: ${(err as Error).message}`);
    }
  }
  const metrics: MetricsConfig = {
    prometheus: toBool('enable-prometheus', raw['enable-prometheus']),
    statsdAddr: str('statsd-addr'),
    dogStatsdAddr: str('dog-statsd-addr'),
    dogStatsdTags: toList(raw['dog-statsd-tags']),
  };
  return {
    server: toBool('server', raw.server),
    nodeName: raw['node-name'] ? String(raw['node-name']) : hostname(),
    dataDir: String(raw['data-dir']),
    httpAddr: parseHttpAddr(String(raw['http-addr'])),
    logLevel,
    logFormat,
    backend,
    backendMachines: backendMachines.length === 0 && backendEntry.defaultMachine !== null ? [backendEntry.defaultMachine] : backendMachines,
    keyspace: String(raw.keyspace),
    leaseTtlMs: Math.max(2000, duration('lease-ttl')),
    dispatchLeadMs: dispatchLead(duration('dispatch-lead')),
    join: toList(raw.join),
    tags,
    shutdownTimeoutMs: duration('shutdown-timeout'),
    outputLimit: int('output-limit'),
    historyLimit: int('history-limit') || 100,
    retryBackoffMs: duration('retry-backoff'),
    maxParallel: int('max-parallel'),
    spawners: spawners(),
    capacity: capacity(),
    ui: toBool('ui', raw.ui),
    security: {
      auth,
      corsOrigins,
      tls: tlsCert !== null && tlsKey !== null ? { cert: tlsCert, key: tlsKey, clientCa: tlsClientCa } : null,
    },
    backendAuth: {
      tlsCa: str('backend-tls-ca'),
      tlsCert: backendTlsCert,
      tlsKey: backendTlsKey,
      username: backendUser,
      password: backendPassword,
    },
    limits: { maxJobs: int('max-jobs'), runRatePerMin: int('run-rate-limit') },
    notify,
    metrics,
    plugins: {
      modules: toList(raw.plugin),
      dir: str('plugin-dir'),
      baseDir: configPath ? dirname(resolvePath(configPath)) : process.cwd(),
      logDir: resolvePath(str('log-dir') ?? join(String(raw['data-dir']), 'logs')),
      processorTimeoutMs: duration('processor-timeout'),
    },
    ignored,
  };
}

/** The options of config that its backend reads. */
export function backendOptions(config: AgentConfig): BackendOptions {
  return { machines: config.backendMachines, keyspace: config.keyspace, leaseTtlMs: config.leaseTtlMs, auth: config.backendAuth, dataDir: config.dataDir };
}

function checkUrl(name: string, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`option ${name}: expected an http(s) URL, got "${value}"`);
  }
  if (!/^https?:$/.test(url.protocol)) throw new ConfigError(`option ${name}: expected an http(s) URL, got "${value}"`);
}

export function parseHttpAddr(addr: string): HttpAddr {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr.trim());
  if (!m) throw new ConfigError(`option http-addr: expected host:port, got "${addr}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`option http-addr: port ${port} out of range`);
  const host = m[1] ?? m[2] ?? '';
  // dkron's ":8080" means every interface; Kairos' default stays loopback.
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export { isLoopbackHost as isLoopback } from '../util/net.js';
