/**
 * One Kairos agent: opens the store, joins the cluster, serves the API, runs
 * executions assigned to it and, while it leads, runs the scheduler.
 * Lifecycle logs use dkron's wording so operators' runbooks still match.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../util/log.js';
import type { AgentConfig } from './config.js';
import { backendOptions, isLoopback } from './config.js';
import { findBackend } from '../backends/catalog.js';
import { VERSION } from './version.js';
import type { FollowUp, Store } from '../store/types.js';
import { ExecutorRegistry } from '../executors/registry.js';
import { builtinExecutors } from '../executors/builtin.js';
import { SpawnerPool } from '../executors/spawner/spawner-pool.js';
import { ProcessorRegistry } from '../processors/registry.js';
import { builtinProcessors } from '../processors/builtin.js';
import { Placement } from '../core/placement.js';
import { describeSelf } from '../cluster/member.js';
import type { PluginListing } from '../api/context.js';
import type { Cluster } from '../cluster/types.js';
import { Dispatcher } from '../cluster/dispatcher.js';
import { FanIn } from '../cluster/fan-in.js';
import { BackfillDriver } from '../cluster/backfill-driver.js';
import { isFanIn } from '../job/parents.js';
import { Runner } from './runner.js';
import { JobService } from '../core/jobs.js';
import { Scheduler, type TickEvent } from '../scheduler/scheduler.js';
import type { Execution } from '../job/types.js';
import type { Executor } from '../executors/types.js';
import type { Processor } from '../processors/types.js';
import { buildServer } from '../api/server.js';
import { loadHttpsOptions } from '../util/tls-files.js';
import { openBackend } from '../backends/open.js';
import type { Backend } from '../backends/types.js';
import { retry } from '../util/retry.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import type { ApiContext, HealthReport } from '../api/context.js';
import { TokenRegistry } from '../auth/token-registry.js';
import { TokenService } from '../auth/token-service.js';
import { exposureWarning } from '../api/routes/cluster.js';
import { EventBus } from '../events/bus.js';
import { timedStore } from '../events/timed-store.js';
import { Observers } from './observers.js';
import { JobFeed } from './job-feed.js';

// KAIROS_UI_DIR serves another build of the UI (UI development, its browser tests).
const UI_DIR = process.env.KAIROS_UI_DIR || fileURLToPath(new URL('../ui/', import.meta.url));

/** Internal timings; tests shorten them so a long outage plays out quickly. */
export interface AgentTuning {
  /** First and longest wait between retries of a tick's dispatch. */
  dispatchRetryMs?: { initial: number; max: number };
}

export class Agent {
  readonly store: Store;
  /** The in-process event bus: hot paths publish, notifications and metrics subscribe. */
  readonly events: EventBus;
  /** Metrics and notifications (subscribers of `events`). */
  readonly observers: Observers;
  readonly executors = new ExecutorRegistry();
  /** `--spawners`: the processes that start shell jobs; null with `--spawners 0`. */
  readonly spawners: SpawnerPool | null;
  readonly processors = new ProcessorRegistry();
  /** Save-time checks against the executors and processors of the cluster's agents. */
  readonly placement: Placement;
  private readonly pluginList: PluginListing[] = [];
  readonly cluster: Cluster;
  readonly runner: Runner;
  readonly dispatcher: Dispatcher;
  readonly jobs: JobService;
  readonly scheduler: Scheduler;
  readonly tokens: TokenService;
  readonly tokenRegistry: TokenRegistry;
  /** How often each limit refused a request since start. */
  readonly limitHits: Record<string, number> = {};
  private api: FastifyInstance | null = null;
  private unconsume: (() => void) | null = null;
  private stopping: Promise<void> | null = null;
  /** The scheduler's view of the store's jobs (loaded while leading). */
  private readonly feed: JobFeed;
  private readonly fanIn: FanIn;
  private readonly backfills: BackfillDriver;
  /** Resolves when the agent has stopped (after `stop()` or `/v1/leave`). */
  readonly stopped: Promise<void>;
  private markStopped!: () => void;

  /** Opens the configured backend (cluster backends connect lazily, so an outage doesn't stop the agent starting). */
  static async open(config: AgentConfig, log: Logger): Promise<Agent> {
    const backend = await openBackend(config.backend, backendOptions(config), log);
    const b = config.backendAuth;
    const credentials = b.tlsCa !== null || b.tlsCert !== null || b.username !== null;
    const takesCredentials = findBackend(config.backend)?.options.includes('backend-username') ?? false;
    if (credentials && takesCredentials) {
      log.info({ tls: b.tlsCa !== null || b.tlsCert !== null, client_cert: b.tlsCert !== null, user: b.username }, `agent: ${config.backend} backend credentials configured`);
    } else if (credentials) {
      log.warn(`agent: --backend-tls-* and --backend-username do not apply to the ${config.backend} backend; ignored`);
    }
    return new Agent(config, log, backend);
  }

  constructor(
    readonly config: AgentConfig,
    readonly log: Logger,
    backend: Backend,
    private readonly tuning: AgentTuning = {},
  ) {
    this.stopped = new Promise((resolve) => (this.markStopped = resolve));
    this.events = new EventBus(log);
    this.store = timedStore(backend.store, this.events);
    this.spawners = config.spawners > 0 ? new SpawnerPool({ size: config.spawners, log }) : null;
    for (const e of builtinExecutors({ spawner: this.spawners ?? undefined })) this.register('executor', e, { form: 'builtin', source: 'kairos', version: VERSION });
    for (const p of builtinProcessors({ logDir: config.plugins.logDir })) this.register('processor', p, { form: 'builtin', source: 'kairos', version: VERSION });
    this.runner = new Runner({
      store: this.store,
      executors: this.executors,
      nodeName: config.nodeName,
      log,
      outputLimit: config.outputLimit,
      historyLimit: config.historyLimit,
      retryBackoffMs: config.retryBackoffMs,
      maxParallel: config.maxParallel,
      followUp: (f) => this.followUp(f),
      onFinished: (execution, job) =>
        this.events.publish('execution.finished', { execution, job, durationMs: Date.parse(execution.finished_at ?? '') - Date.parse(execution.started_at) }),
      events: this.events,
      processors: { registry: this.processors, timeoutMs: config.plugins.processorTimeoutMs },
    });
    const member = {
      nodeName: config.nodeName,
      addr: config.httpAddr.host,
      tags: config.tags,
      server: config.server,
      version: VERSION,
      running: () => this.runner.runningCount + this.runner.queued,
      port: () => this.httpPort,
      executors: () => this.executors.names(),
      processors: () => this.processors.names(),
      capacity: config.capacity,
      // Built before the dispatcher: read when the record is published.
      queued: () => this.dispatcher.queue.list(),
      log,
    };
    this.cluster = backend.cluster({ ...member, events: this.events });
    this.cluster.onMemberLost((name) => void this.reapLostAgent(name));
    this.dispatcher = new Dispatcher(this.store, this.cluster, this.runner, log, this.events);
    this.fanIn = new FanIn(this.store, (tick) => this.dispatcher.dispatchTick(tick), log);
    this.placement = new Placement(this.executors, this.processors, () => this.cluster.members(), () => describeSelf(member));
    this.jobs = new JobService(this.store, this.placement, (job) => this.feed.nextOf(job), {
      maxJobs: config.limits.maxJobs,
      onLimitHit: (limit) => this.countLimitHit(limit),
    });
    this.tokens = new TokenService(this.store);
    let staleWarned = 0;
    this.tokenRegistry = new TokenRegistry(this.store, {
      onStale: (err) => {
        // Once a minute at most: the store being away is reported elsewhere too.
        if (Date.now() - staleWarned < 60_000) return;
        staleWarned = Date.now();
        log.warn({ err: err.message }, 'api: cannot re-read API tokens; the last list read stays in force');
      },
    });
    this.scheduler = new Scheduler({
      leadMs: config.dispatchLeadMs,
      // Ticks dispatched ahead go out in batches: up to a tenth of the lead (50 ms) earlier.
      batchMs: Math.min(50, Math.floor(config.dispatchLeadMs / 10)),
      onTick: (tick) => this.dispatchWithRetry(tick),
      onMissed: (m) => {
        this.log.warn({ job: m.name, missed: m.count, reason: m.reason }, 'scheduler: missed ticks not run');
        // Recorded durably so "did last night's 02:00 run, and if not why" has an answer (GET /v1/jobs/NAME/skips).
        void retry(() => this.dispatcher.recordMissed(m), {
          initialMs: 200,
          maxMs: 5000,
          giveUp: (_err, attempt) => this.stopping !== null || attempt >= 20,
          onRetry: (err, delay) => this.log.warn({ job: m.name, err: (err as Error).message, retry_ms: delay }, 'scheduler: cannot record missed ticks; retrying'),
        }).catch((err: unknown) => this.log.error({ job: m.name, err: (err as Error).message }, 'scheduler: missed ticks not recorded'));
        const kind = m.policy === 'skip' ? 'catch_up_skip' : m.policy === 'starting_deadline' ? 'starting_deadline' : 'no_leader';
        const first = m.earlier?.from ?? m.ticks[0] ?? Date.now();
        this.events.publish('tick.skipped', { job: m.name, scheduledAt: new Date(first).toISOString(), kind, reason: `${m.count} tick(s) missed while no leader was scheduling; ${m.reason}`, count: m.count });
      },
      onError: (err, tick) => this.log.error({ err, job: tick.name }, 'scheduler: dispatch failed'),
    });
    this.backfills = new BackfillDriver(this.store, this.dispatcher, log);
    this.feed = new JobFeed(this.store, this.scheduler, log, (job) => this.backfills.observe(job));
    this.observers = new Observers(this);
  }

  /**
   * A tick whose dispatch failed (store unreachable) is retried for as long as
   * this agent leads: the scheduler has already moved past it, so giving up
   * would drop it for good. The store's tick fence makes a retry that already
   * landed (or a later tick committed meanwhile) a no-op, and once this agent
   * no longer leads, the next leader's catch-up owns the tick.
   */
  private async dispatchWithRetry(tick: TickEvent): Promise<void> {
    const timing = this.tuning.dispatchRetryMs ?? { initial: 200, max: 5000 };
    await retry(() => this.dispatcher.dispatchTick(tick), {
      initialMs: timing.initial,
      maxMs: timing.max,
      giveUp: () => !this.cluster.isLeader() || this.stopping !== null,
      onRetry: (err, delay, attempt) =>
        this.log.warn({ job: tick.name, err: (err as Error).message, retry_ms: delay, attempt }, 'scheduler: dispatch failed; retrying'),
    });
  }

  /**
   * Executions of an agent that vanished (lease expired) can never report:
   * the leader records them failed, so history is complete and forbid isn't blocked forever.
   */
  private async reapLostAgent(node: string): Promise<void> {
    if (!this.cluster.isLeader()) return;
    try {
      const lost = (await this.store.listRunning()).filter((e) => e.node_name === node);
      for (const e of lost) {
        await this.runner.closeLost(e, `agent lost: ${node} stopped renewing its lease while this execution was running`);
      }
      if (lost.length > 0) this.log.warn({ node, executions: lost.length }, 'agent: executions of a lost agent recorded as failed');
      await this.resumeFollowUps(node);
    } catch (err) {
      this.log.warn({ node, err: (err as Error).message }, 'agent: could not close executions of a lost agent');
    }
  }

  /** On gaining leadership: close executions whose agent is no longer a member. */
  private async reapAllLost(): Promise<void> {
    try {
      const alive = new Set((await this.cluster.members()).map((m) => m.Name));
      const nodes = new Set((await this.store.listRunning()).map((e) => e.node_name));
      for (const f of await this.store.listFollowUps()) nodes.add(f.node);
      for (const node of nodes) if (!alive.has(node)) await this.reapLostAgent(node);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'agent: could not check for executions of lost agents');
    }
  }

  async start(): Promise<void> {
    const c = this.config;
    this.log.info({ node: c.nodeName, version: VERSION, backend: c.backend, server: c.server, tags: c.tags }, 'agent: Starting Kairos agent...');
    for (const name of c.ignored) this.log.warn(`agent: option "${name}" is accepted for dkron compatibility and has no effect`);
    if (!c.server) this.log.warn('agent: running without --server: this agent executes jobs but never schedules them');
    // Before serving or joining: saves are validated, and the member advertised, with the plugins in.
    await this.loadPlugins();

    // The embedded store answers at once; with etcd down, serve the API meanwhile and recover when it returns.
    const recovery = this.recoverOrphans();
    if (!this.store.routesExecutions) await recovery;

    const { host, port } = c.httpAddr;
    await this.checkExposure(host);
    const https = loadHttpsOptions(c.security.tls);
    this.api = await buildServer(this.apiContext(), this.placement, https);
    await this.api.listen({ host, port });
    const addr = this.api.server.address();
    const realPort = typeof addr === 'object' && addr ? addr.port : port;
    this.log.info(`api: HTTP server listening on ${https ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${realPort}`);

    this.log.info({ join: c.join }, 'agent: Joining cluster...');
    this.cluster.onLeadershipChange((leader) => {
      this.events.publish(leader ? 'leadership.acquired' : 'leadership.lost', { node: c.nodeName });
      this.backfills.setLeading(leader);
      if (leader) {
        // Spawners fork once the jobs are loaded (forking them beside the load slowed a 100k-job
        // start by ~0.1 s); a run before that is spawned in-process, and the first spawn starts them.
        void this.feed.start().finally(() => this.spawners?.start());
        void this.reapAllLost();
      } else {
        this.feed.stop();
      }
    });
    const consume = this.store.consumeAssignments?.bind(this.store);
    if (consume) {
      void recovery.then(() => {
        if (!this.stopping) this.unconsume = consume(c.nodeName, (execution, job) => this.runner.deliver(execution, job));
      });
    }
    await this.cluster.start();
    if (!this.cluster.isLeader()) this.spawners?.start();
    // After joining: dispatching a dependent needs this agent listed as a member.
    void recovery.then(() => (this.stopping ? undefined : this.resumeFollowUps(c.nodeName)));
  }

  /**
   * An agent reachable beyond loopback with no token and no client certificates lets anyone
   * run commands here: say so loudly (and in GET /v1), or refuse to start under --auth required.
   */
  private async checkExposure(host: string): Promise<void> {
    const c = this.config;
    if (isLoopback(host) || c.security.tls?.clientCa) return;
    let tokens: boolean;
    try {
      tokens = await this.tokenRegistry.anyTokens();
    } catch {
      tokens = false; // the store is away: assume the worst for the warning
    }
    if (tokens) return;
    if (c.security.auth === 'required') {
      throw new Error(
        `--auth required: refusing to listen on ${host} with no API token and no --tls-client-ca; create a token first (kairos token create --name NAME --role admin)`,
      );
    }
    this.log.warn(`api: WARNING: ${exposureWarning()}`);
  }

  countLimitHit(limit: string): void {
    this.limitHits[limit] = (this.limitHits[limit] ?? 0) + 1;
  }

  /** Close what a previous run of this agent left running; with the store down, keep trying in the background. */
  private async recoverOrphans(): Promise<void> {
    const closed = await retry(() => this.runner.recoverOrphans(), {
      initialMs: 500,
      maxMs: 5000,
      giveUp: () => this.stopping !== null,
      onRetry: (err, delay) =>
        this.log.warn({ err: (err as Error).message, retry_ms: delay }, 'agent: store unreachable while recovering; retrying'),
    }).catch(() => 0);
    if (closed > 0) this.log.warn({ count: closed }, 'agent: closed executions left running by the previous run as failed');
  }


  /** The HTTP server once started (in-process tests read its routes). */
  get server(): FastifyInstance | null {
    return this.api;
  }

  /** The bound HTTP port (useful with --http-addr 127.0.0.1:0). */
  get httpPort(): number {
    const addr = this.api?.server.address();
    return typeof addr === 'object' && addr ? addr.port : this.config.httpAddr.port;
  }

  /**
   * What a successful group owes: its dependents, then the delete of an ephemeral job, then the
   * follow-up record is removed. Store errors are retried until done; a stopping agent leaves the
   * record for its next start (or the leader, if it never comes back). A crash between a child's
   * dispatch and the record's removal runs that child again on replay: the one duplicate left,
   * preferred to losing the run.
   */
  private async followUp(f: FollowUp): Promise<void> {
    const dispatched = new Set<string>();
    try {
      await retry(
        async () => {
          for (const child of f.children) {
            if (dispatched.has(child)) continue;
            try {
              const job = await this.store.getJob(child);
              // A depends_on job runs once per window in which all its parents succeeded (fenced by the window).
              if (job && isFanIn(job)) await this.fanIn.parentSucceeded(job, f.job, f.group);
              else await this.dispatcher.runNow(child, 'parent');
            } catch (err) {
              // A refusal (disabled, forbid, no agent, deleted) is an answer, recorded as a skip.
              if (!(err instanceof ConflictError || err instanceof NotFoundError)) throw err;
              this.log.warn({ job: child, parent: f.job, err: err.message }, 'agent: dependent job not run');
            }
            dispatched.add(child);
          }
          const job = await this.store.getJob(f.job);
          if (job?.ephemeral) {
            // The API's delete: unlinks it from its parent, and refuses (logged) while other jobs depend on it.
            try {
              await this.jobs.delete(job.name);
              this.log.info({ job: job.name }, 'agent: ephemeral job deleted after success');
            } catch (err) {
              if (!(err instanceof ConflictError || err instanceof NotFoundError)) throw err;
              this.log.warn({ job: job.name, err: err.message }, 'agent: ephemeral job kept');
            }
          }
          await this.store.deleteFollowUp(f.job, f.group);
        },
        {
          initialMs: 200,
          maxMs: 5000,
          giveUp: () => this.stopping !== null,
          onRetry: (err, delay) =>
            this.log.warn({ job: f.job, group: f.group, err: (err as Error).message, retry_ms: delay }, 'agent: dependents of a successful run not dispatched yet; retrying'),
        },
      );
    } catch (err) {
      this.log.warn({ job: f.job, group: f.group, err: (err as Error).message }, 'agent: dependents left for the next start');
    }
  }

  /** Follow-ups a previous run of `node` (this agent after a crash, or a lost agent) left undone. */
  private async resumeFollowUps(node: string): Promise<void> {
    const pending = await retry(() => this.store.listFollowUps(node), {
      initialMs: 500,
      maxMs: 5000,
      giveUp: () => this.stopping !== null,
    }).catch(() => []);
    for (const f of pending) {
      this.log.info({ job: f.job, group: f.group, children: f.children }, 'agent: running dependents owed by an earlier run');
      await this.followUp(f);
    }
  }

  private apiContext(): ApiContext {
    return {
      nodeName: this.config.nodeName,
      version: VERSION,
      backend: this.config.backend,
      tags: this.config.tags,
      log: this.log,
      jobs: this.jobs,
      dispatcher: this.dispatcher,
      cluster: this.cluster,
      store: this.store,
      busy: async () => {
        const live = new Map(this.runner.busy().map((e) => [e.id, e]));
        const stored = await this.store.listRunning();
        return stored.map((e) => live.get(e.id) ?? e);
      },
      health: () => this.health(),
      leave: () => void this.stop(),
      uiDir: this.config.ui && existsSync(join(UI_DIR, 'index.html')) ? UI_DIR : null,
      security: {
        auth: this.config.security.auth,
        corsOrigins: this.config.security.corsOrigins,
        loopback: isLoopback(this.config.httpAddr.host),
        clientCertificates: Boolean(this.config.security.tls?.clientCa),
        runRatePerMin: this.config.limits.runRatePerMin,
      },
      registry: this.tokenRegistry,
      tokens: this.tokens,
      limitHits: this.limitHits,
      countLimitHit: (limit) => this.countLimitHit(limit),
      metrics: this.observers.metricsEndpoint(),
      plugins: () => [...this.pluginList],
      follow: (id, onText, onEnd) => this.follow(id, onText, onEnd),
    };
  }

  /** Live output of an execution of this agent (the stream endpoint); attaches once it starts. */
  private follow(id: string, onText: (text: string) => void, onEnd: (execution: Execution) => void): { stop(): void } {
    let detach: (() => void) | null = null;
    const attach = (): void => {
      if (detach) return;
      const f = this.runner.follow(id, onText);
      if (!f) return;
      if (f.backlog !== '') onText(f.backlog);
      detach = f.stop;
    };
    const offStart = this.events.on('execution.started', (p) => {
      if (p.execution.id === id) attach();
    });
    const offEnd = this.events.on('execution.finished', (p) => {
      if (p.execution.id === id) onEnd(p.execution);
    });
    attach();
    return {
      stop: () => {
        offStart();
        offEnd();
        detach?.();
      },
    };
  }

  /** Third-party plugins (docs/plugins.md); a misconfigured one stops the start, naming it. */
  private async loadPlugins(): Promise<void> {
    const p = this.config.plugins;
    if (p.modules.length === 0 && p.dir === null) return;
    const { loadPlugins } = await import('../plugins/load.js');
    const loaded = await loadPlugins({
      modules: p.modules,
      dir: p.dir,
      baseDir: p.baseDir,
      nodeName: this.config.nodeName,
      log: this.log,
      processorTimeoutMs: p.processorTimeoutMs,
      reserved: { executors: this.executors.names(), processors: this.processors.names() },
    });
    const infos = new Map(loaded.plugins.map((i) => [`${i.kind}:${i.name}`, i]));
    const listing = (kind: string, name: string): Omit<PluginListing, 'name' | 'kind'> => {
      const i = infos.get(`${kind}:${name}`);
      return { form: i?.form ?? 'module', source: i?.source ?? '', ...(i?.version ? { version: i.version } : {}) };
    };
    for (const e of loaded.executors) this.register('executor', e, listing('executor', e.name));
    for (const pr of loaded.processors) this.register('processor', pr, listing('processor', pr.name));
    this.log.info({ plugins: loaded.plugins.map((i) => `${i.kind}:${i.name}`) }, 'agent: plugins loaded');
  }

  private register(kind: 'executor', impl: Executor, listing: Omit<PluginListing, 'name' | 'kind'>): void;
  private register(kind: 'processor', impl: Processor, listing: Omit<PluginListing, 'name' | 'kind'>): void;
  private register(kind: 'executor' | 'processor', impl: Executor | Processor, listing: Omit<PluginListing, 'name' | 'kind'>): void {
    if (kind === 'executor') this.executors.register(impl as Executor);
    else this.processors.register(impl as Processor);
    this.pluginList.push({ name: impl.name, kind, ...listing });
  }

  private async health(): Promise<HealthReport> {
    const checks: Record<string, string> = {};
    let ok = true;
    try {
      await this.store.getSetting('paused');
      checks.store = 'ok';
    } catch (err) {
      ok = false;
      checks.store = `unreachable: ${(err as Error).message}`;
    }
    // The leader read fails the same way the store does (etcd away, refused credentials): report, don't throw.
    const leader = this.cluster.isLeader() ? null : await this.cluster.leader().catch(() => undefined);
    checks.leader = this.cluster.isLeader() ? 'this agent' : leader === undefined ? 'unknown' : (leader?.Name ?? 'none');
    return { status: ok ? 'healthy' : 'degraded', checks };
  }

  /** Graceful stop: no new runs, wait for running ones (up to the shutdown timeout), record, close. */
  stop(): Promise<void> {
    if (!this.stopping) this.stopping = this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    try {
      this.log.info('agent: Gracefully shutting down agent...');
      // Hand leadership over first, but stay a member until running work is recorded:
      // leaving the cluster now would make the new leader mark those runs "agent lost".
      this.backfills.setLeading(false);
      this.feed.stop();
      this.unconsume?.();
      await this.cluster.resign();
      const running = this.runner.runningCount;
      if (running > 0) {
        this.log.info({ running, timeout_ms: this.config.shutdownTimeoutMs }, 'agent: waiting for running executions to finish');
      }
      const { killed } = await this.runner.shutdown(this.config.shutdownTimeoutMs);
      if (killed > 0) this.log.warn({ killed }, 'agent: shutdown deadline reached; running executions were killed and recorded as failed');
      // Only now: until every run is recorded, its spawner still follows the job's process.
      await this.spawners?.close();
      await this.cluster.stop();
      await this.api?.close();
      await this.observers.close();
      await this.store.close();
      this.log.info('agent: shutdown complete');
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'agent: error during shutdown');
      await this.spawners?.close();
    } finally {
      this.markStopped();
    }
  }
}
