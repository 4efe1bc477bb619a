/**
 * Agent settings from four sources, highest first: command-line flags, the
 * config file (`--config`, JSON or YAML), `KAIROS_*` environment variables
 * (`DKRON_*` read as a fallback for migrating users), built-in defaults.
 * One table defines every option, so the CLI, the file keys and the env
 * names can't drift apart. Keys are dkron's flag names.
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
import { backendHelp, backendNames, findBackend, UNSUPPORTED } from '../backends/catalog.js';


export type OptionKind = 'bool' | 'string' | 'list' | 'int' | 'duration';

export interface OptionDef {
  name: string;
  kind: OptionKind;
  description: string;
  default?: string | boolean | string[];
  /** dkron flags Kairos accepts for compatibility but doesn't need. */
  ignored?: boolean;
  /** Singular flag repeated on the command line (`--tag a=b --tag c=d`). */
  repeatable?: boolean;
}

export const AGENT_OPTIONS: OptionDef[] = [
  { name: 'server', kind: 'bool', default: false, description: 'run as a server: can be elected leader and schedule jobs' },
  { name: 'node-name', kind: 'string', description: 'unique name of this agent (default: host name)' },
  { name: 'data-dir', kind: 'string', default: 'kairos.data', description: 'directory of the embedded store' },
  { name: 'http-addr', kind: 'string', default: '127.0.0.1:8080', description: 'address of the HTTP API and UI (host:port; ":8080" binds every interface)' },
  { name: 'log-level', kind: 'string', default: 'info', description: 'debug, info, warn or error' },
  { name: 'log-format', kind: 'string', default: 'text', description: 'text or json' },
  { name: 'backend', kind: 'string', default: 'embedded', description: `job store: ${backendHelp()}; see docs/backends.md` },
  { name: 'backend-machine', kind: 'list', repeatable: true, default: [], description: 'backend address host:port (repeatable or comma separated; default 127.0.0.1:2379 for etcd, 127.0.0.1:2181 for zookeeper)' },
  { name: 'keyspace', kind: 'string', default: 'kairos', description: 'key prefix in etcd, root znode in ZooKeeper' },
  { name: 'lease-ttl', kind: 'duration', default: '5s', description: 'how fast a dead agent or leader is noticed: the etcd lease TTL, the ZooKeeper session timeout (min 2s)' },
  { name: 'join', kind: 'list', repeatable: true, default: [], description: 'accepted for dkron compatibility; the backend is the meeting point' },
  { name: 'tag', kind: 'list', repeatable: true, default: [], description: 'agent tag key=value (repeatable); jobs target agents by tags' },
  { name: 'shutdown-timeout', kind: 'duration', default: '60s', description: 'on SIGINT/SIGTERM, how long to wait for running executions before killing them' },
  { name: 'output-limit', kind: 'int', default: '256000', description: 'bytes of output kept per execution (the tail)' },
  { name: 'history-limit', kind: 'int', default: '100', description: 'executions kept per job unless the job sets history_limit' },
  { name: 'retry-backoff', kind: 'duration', default: '1s', description: 'delay before the first retry; doubles per attempt (max 1m)' },
  { name: 'max-parallel', kind: 'int', default: '0', description: 'most executions this agent runs at once (0 = no limit)' },
  { name: 'capacity-cpu', kind: 'string', description: 'CPU cores this agent offers to jobs that declare resources.cpu (default: the number of CPU cores; "500m" = half a core)' },
  { name: 'capacity-memory', kind: 'string', description: 'memory this agent offers to jobs that declare resources.memory, e.g. 8Gi (default: the machine\'s total memory)' },
  { name: 'slot', kind: 'list', repeatable: true, default: [], description: 'a named resource this agent offers, name=count (repeatable), e.g. gpu=1; jobs ask for it in resources.slots' },
  { name: 'spawners', kind: 'int', description: 'helper processes that start the shell executor\'s job processes: a burst of jobs starts in parallel, and each fork copies a small process instead of the agent (default: the number of CPU cores; 0 = start them from the agent process)' },
  { name: 'dispatch-lead', kind: 'duration', default: '500ms', description: 'how long before a tick the leader dispatches it; the agent then starts it on the tick itself, so the backend round trips are not in the run\'s lateness (0 = dispatch on the tick; never for concurrency "forbid")' },
  { name: 'ui', kind: 'bool', default: true, description: 'serve the web UI' },
  // Security (README "Security").
  { name: 'auth', kind: 'string', default: 'auto', description: 'API tokens: auto (required once a token exists) or required (always; refuse to start exposed without auth)' },
  { name: 'cors-origin', kind: 'list', repeatable: true, default: [], description: 'browser origin allowed to call the API cross-site (repeatable, e.g. http://ui.example:3000); none by default' },
  { name: 'tls-cert', kind: 'string', description: 'serve the API and UI over HTTPS with this PEM certificate (with --tls-key)' },
  { name: 'tls-key', kind: 'string', description: 'PEM private key of --tls-cert' },
  { name: 'tls-client-ca', kind: 'string', description: 'require HTTPS clients to present a certificate signed by this PEM CA' },
  { name: 'backend-tls-ca', kind: 'string', description: 'PEM CA that signed the backend (etcd) server certificates' },
  { name: 'backend-tls-cert', kind: 'string', description: 'PEM client certificate for the backend (etcd client-cert auth)' },
  { name: 'backend-tls-key', kind: 'string', description: 'PEM private key of --backend-tls-cert' },
  { name: 'backend-username', kind: 'string', description: 'backend (etcd) user name, when etcd auth is enabled' },
  { name: 'backend-password', kind: 'string', description: 'backend (etcd) password (prefer KAIROS_BACKEND_PASSWORD or the config file over the command line)' },
  { name: 'max-jobs', kind: 'int', default: '0', description: 'most jobs the cluster stores; creating more answers 403 (0 = no limit)' },
  { name: 'run-rate-limit', kind: 'int', default: '600', description: 'run-now requests per minute per token (anonymous: per client address); more answer 429 (0 = no limit)' },
  // Notifications (README "Notifications and metrics").
  { name: 'notify-on', kind: 'string', default: 'failure', description: "when a finished execution group is notified, for jobs that don't set notify_on: failure, success, always, never or change" },
  { name: 'notify-skip', kind: 'bool', default: false, description: "notify skipped ticks, for jobs that don't set notify_skip" },
  { name: 'ui-url', kind: 'string', description: 'base URL of the web UI, for links in notifications (e.g. https://kairos.example)' },
  { name: 'slack-webhook-url', kind: 'string', description: 'Slack incoming-webhook URL (a job may set its own slack_webhook_url)' },
  { name: 'slack-channel', kind: 'string', description: 'Slack channel override (a job may set its own slack_channel)' },
  { name: 'webhook-endpoint', kind: 'string', description: 'URL POSTed after each notified execution group (dkron)' },
  { name: 'webhook-payload', kind: 'string', description: 'body template of the webhook (dkron template variables)' },
  { name: 'webhook-headers', kind: 'list', repeatable: true, default: [], description: 'webhook header "Name: value" (repeatable)' },
  { name: 'webhook-url', kind: 'string', description: 'dkron 0.9 name of --webhook-endpoint' },
  { name: 'webhook-header', kind: 'list', repeatable: true, default: [], description: 'dkron 0.9 name of --webhook-headers' },
  { name: 'pre-webhook-endpoint', kind: 'string', description: 'URL POSTed when an execution starts (dkron)' },
  { name: 'pre-webhook-payload', kind: 'string', description: 'body template of the pre-webhook' },
  { name: 'pre-webhook-headers', kind: 'list', repeatable: true, default: [], description: 'pre-webhook header "Name: value" (repeatable)' },
  { name: 'mail-host', kind: 'string', description: 'SMTP server host for notification mail' },
  { name: 'mail-port', kind: 'int', default: '0', description: 'SMTP port (0: no mail)' },
  { name: 'mail-username', kind: 'string', description: 'SMTP user' },
  { name: 'mail-password', kind: 'string', description: 'SMTP password (prefer KAIROS_MAIL_PASSWORD or the config file)' },
  { name: 'mail-from', kind: 'string', description: 'From address of notification mail' },
  { name: 'mail-to', kind: 'list', repeatable: true, default: [], description: "recipient of every notification mail, besides the job's owner_email (repeatable)" },
  { name: 'mail-subject-prefix', kind: 'string', default: '[Kairos]', description: 'subject prefix of notification mail' },
  { name: 'mail-payload', kind: 'string', description: 'text body template of notification mail (dkron template variables)' },
  { name: 'mail-tls', kind: 'bool', default: false, description: 'implicit TLS to the SMTP server (port 465); otherwise STARTTLS when offered' },
  { name: 'notify-queue-size', kind: 'int', default: '1000', description: 'most notifications waiting for delivery; the oldest is dropped beyond' },
  { name: 'notify-attempts', kind: 'int', default: '5', description: 'delivery attempts per notification' },
  { name: 'notify-backoff', kind: 'duration', default: '1s', description: 'delay before the second delivery attempt; doubles per attempt (max 1m)' },
  { name: 'notify-timeout', kind: 'duration', default: '10s', description: 'deadline of one delivery attempt' },
  // Metrics.
  { name: 'plugin', kind: 'list', repeatable: true, default: [], description: 'plugin module to load: an npm package name or a path (repeatable; `plugins:` list in the config file); see docs/plugins.md' },
  { name: 'plugin-dir', kind: 'string', description: 'directory of executable plugins named kairos-executor-<name> / kairos-processor-<name>' },
  { name: 'log-dir', kind: 'string', description: "directory of the files processor when a job doesn't set log_dir (default: <data-dir>/logs)" },
  { name: 'processor-timeout', kind: 'duration', default: '30s', description: 'longest one processor may take per execution before it is abandoned (the output is kept in the record)' },
  { name: 'enable-prometheus', kind: 'bool', default: true, description: 'serve Prometheus metrics at GET /metrics (read role when tokens exist)' },
  { name: 'statsd-addr', kind: 'string', description: 'StatsD address host:port (UDP; no tags)' },
  { name: 'dog-statsd-addr', kind: 'string', description: 'DogStatsD address host:port (UDP; job and node as tags)' },
  { name: 'dog-statsd-tags', kind: 'list', repeatable: true, default: [], description: 'DogStatsD global tag key:value (repeatable)' },
  // dkron flags that have no job in Kairos: accepted (so existing unit files keep working) and logged.
  ...[
    'bind-addr',
    'advertise-addr',
    'rpc-port',
    'advertise-rpc-port',
    'encrypt',
    'bootstrap-expect',
    'profile',
    'datacenter',
    'region',
    'raft-multiplier',
    'serf-reconnect-timeout',
    'retry-interval',
    'retry-max',
  ].map((name): OptionDef => ({ name, kind: 'string', ignored: true, description: 'dkron compatibility; no effect' })),
  { name: 'retry-join', kind: 'list', repeatable: true, ignored: true, description: 'dkron compatibility; no effect' },
  { name: 'disable-usage-stats', kind: 'bool', ignored: true, description: 'dkron compatibility; Kairos sends no usage stats' },
];

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
