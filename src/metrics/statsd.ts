/**
 * StatsD and DogStatsD (hot-shots), fed by the event bus. Metric names follow
 * dkron's (go-metrics keys) under a `kairos.` prefix where dkron has one;
 * Kairos-only metrics sit beside them (mapping in docs/decisions.md and the
 * README). DogStatsD gets the job and node as tags plus --dog-statsd-tags;
 * plain StatsD has no tags, so it gets none.
 */
import type { StatsD } from 'hot-shots';
import type { EventBus } from '../events/bus.js';
import { startCounts } from '../job/slo.js';

export interface StatsdOptions {
  /** host:port */
  addr: string;
  /** DogStatsD (tags) or plain StatsD. */
  dog: boolean;
  /** Global DogStatsD tags, `key:value`. */
  tags: string[];
  nodeName: string;
  onError: (err: Error) => void;
}

type Tags = Record<string, string>;

export class StatsdMetrics {
  /** hot-shots is loaded when an agent sends StatsD at all, not at every start (~50 ms here). */
  private client: StatsD | null = null;
  /** What happened before the client was ready (leadership at startup), sent once it is. */
  private pending: ((client: StatsD) => void)[] = [];
  private readonly ready: Promise<void>;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(bus: EventBus, private readonly o: StatsdOptions) {
    const idx = o.addr.lastIndexOf(':');
    this.ready = import('hot-shots').then(
      ({ StatsD }) => {
        const client = new StatsD({
          host: o.addr.slice(0, idx),
          port: Number(o.addr.slice(idx + 1)),
          prefix: 'kairos.',
          globalTags: o.dog ? [...o.tags, `node:${o.nodeName}`] : [],
          // One datagram per metric (no buffering), so nothing is lost at shutdown and tests see lines at once.
          maxBufferSize: 0,
          errorHandler: o.onError,
        });
        this.client = client;
        for (const send of this.pending.splice(0)) send(client);
      },
      (err: unknown) => o.onError(err instanceof Error ? err : new Error(String(err))),
    );
    const send = (f: (client: StatsD) => void): void => {
      if (this.client) f(this.client);
      else this.pending.push(f);
    };
    const count = (name: string, tags: Tags = {}): void => send((c) => c.increment(name, 1, this.tags(tags)));
    const timing = (name: string, ms: number, tags: Tags = {}): void => send((c) => c.timing(name, Math.max(0, ms), this.tags(tags)));
    this.unsubscribe.push(
      bus.on('execution.started', (e) => {
        count('job.executions_started_total', { job_name: e.execution.job_name });
        if (startCounts(e.execution)) timing('job.start_lateness', e.latenessMs, { job_name: e.execution.job_name });
      }),
      bus.on('execution.late', (e) => count('job.start_slo_breach', { job_name: e.execution.job_name })),
      bus.on('execution.finished', (e) => {
        const job = e.execution.job_name;
        // dkron: dkron.job.executions_succeeded_total / dkron.job.executions_failed_total {job_name}
        count(e.execution.success ? 'job.executions_succeeded_total' : 'job.executions_failed_total', { job_name: job });
        if (Number.isFinite(e.durationMs)) timing('job.execution_time', e.durationMs, { job_name: job });
      }),
      bus.on('tick.dispatched', (e) => count('scheduler.tick_dispatched', { job_name: e.job })),
      bus.on('tick.skipped', (e) => send((c) => c.increment('scheduler.tick_skipped', e.count, this.tags({ job_name: e.job, reason: e.kind })))),
      // dkron 0.9: agent.leadership_acquired / agent.leadership_lost
      bus.on('leadership.acquired', () => count('agent.leadership_acquired')),
      bus.on('leadership.lost', () => count('agent.leadership_lost')),
      // dkron: dkron.agent.event_received.member-join / member-leave (serf event names)
      bus.on('member.joined', () => count('agent.event_received.member-join')),
      bus.on('member.left', () => count('agent.event_received.member-leave')),
      bus.on('notify.delivery', (e) => count('notify.delivery', { channel: e.channel, outcome: e.outcome })),
      bus.on('store.call', (e) => timing(`store.${e.op}`, e.ms)),
    );
  }

  private tags(tags: Tags): string[] | undefined {
    if (!this.o.dog) return undefined;
    return Object.entries(tags).map(([k, v]) => `${k}:${v}`);
  }

  async close(): Promise<void> {
    for (const off of this.unsubscribe) off();
    await this.ready;
    const client = this.client;
    if (client) await new Promise<void>((resolve) => client.close(() => resolve()));
  }
}
