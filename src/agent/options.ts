/**
 * Every agent option in one table: the CLI's flags (cli/agent-options.ts), the config file's keys,
 * the KAIROS_* names and the reference docs all come from it, so they can't drift apart.
 * config.ts resolves the values. Names are dkron's flag names.
 */
import { backendHelp } from '../backends/catalog.js';

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
