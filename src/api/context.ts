/** What the HTTP API needs from a running agent; the API imports nothing else of it. */
import type { Logger } from '../util/log.js';
import type { JobService } from '../core/jobs.js';
import type { Dispatcher } from '../cluster/dispatcher.js';
import type { Cluster } from '../cluster/types.js';
import type { Store } from '../store/types.js';
import type { Execution } from '../job/types.js';
import type { TokenRegistry } from '../auth/token-registry.js';
import type { TokenService } from '../auth/token-service.js';

export interface HealthReport {
  status: 'healthy' | 'degraded';
  checks: Record<string, string>;
}

/** One executor or processor of this agent, as GET /v1/plugins lists it. */
export interface PluginListing {
  name: string;
  kind: 'executor' | 'processor';
  form: 'builtin' | 'module' | 'executable';
  /** Package name or file path; "kairos" for built-ins. */
  source: string;
  version?: string;
}

export interface ApiContext {
  nodeName: string;
  version: string;
  backend: string;
  tags: Record<string, string>;
  log: Logger;
  jobs: JobService;
  dispatcher: Dispatcher;
  cluster: Cluster;
  store: Store;
  /** Executions running on this agent, with their latest output. */
  busy(): Promise<Execution[]>;
  health(): Promise<HealthReport>;
  /** Leave the cluster and stop this agent (after the response is sent). */
  leave(): void;
  uiDir: string | null;
  security: {
    auth: 'auto' | 'required';
    corsOrigins: string[];
    /** Listening on loopback only. */
    loopback: boolean;
    clientCertificates: boolean;
    runRatePerMin: number;
  };
  registry: TokenRegistry;
  tokens: TokenService;
  /** How often each limit refused a request since start (`GET /v1`). */
  limitHits: Record<string, number>;
  countLimitHit(limit: string): void;
  /**
   * Follow an execution that runs (or is about to run) on this agent: `onText` for each output
   * chunk (first the output so far, once it starts), `onEnd` with the stored record.
   */
  follow(id: string, onText: (text: string) => void, onEnd: (execution: Execution) => void): { stop(): void };
  /** Executors and processors of this agent, built-in and plugins. */
  plugins(): PluginListing[];
  /** Prometheus metrics for GET /metrics; null when disabled. */
  metrics?: { contentType: string; text: () => Promise<string> } | null;
}
