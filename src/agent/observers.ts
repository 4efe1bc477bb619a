/**
 * The agent's subscribers to its event bus: Prometheus (served at /metrics),
 * StatsD / DogStatsD, and the notifier. Kept out of agent.ts so the lifecycle
 * there stays about lifecycle.
 */
import type { AgentConfig } from './config.js';
import type { EventBus } from '../events/bus.js';
import type { Store } from '../store/types.js';
import type { Cluster } from '../cluster/types.js';
import type { Logger } from '../util/log.js';
import { PrometheusMetrics } from '../metrics/prometheus.js';
import { StatsdMetrics } from '../metrics/statsd.js';
import { Notifier } from '../notify/notifier.js';

export interface ObservedAgent {
  config: AgentConfig;
  log: Logger;
  events: EventBus;
  store: Store;
  cluster: Cluster;
  runner: { runningCount: number; queued: number };
}

export class Observers {
  readonly prometheus: PrometheusMetrics | null;
  readonly notifier: Notifier;
  private readonly statsd: StatsdMetrics[] = [];

  constructor(a: ObservedAgent) {
    const { config, log, events } = a;
    this.notifier = new Notifier(config.notify, { bus: events, store: a.store, nodeName: config.nodeName, log });
    this.prometheus = config.metrics.prometheus
      ? new PrometheusMetrics(
          events,
          {
            isLeader: () => a.cluster.isLeader(),
            members: async () => (await a.cluster.members()).length,
            running: () => a.runner.runningCount,
            queued: () => a.runner.queued,
            notifyQueueDepth: () => this.notifier.queue.depth,
          },
          config.nodeName,
        )
      : null;
    let warned = 0;
    const onError = (err: Error): void => {
      if (Date.now() - warned < 60_000) return;
      warned = Date.now();
      log.warn({ err: err.message }, 'metrics: cannot send to statsd');
    };
    const { statsdAddr, dogStatsdAddr, dogStatsdTags } = config.metrics;
    if (statsdAddr) this.statsd.push(new StatsdMetrics(events, { addr: statsdAddr, dog: false, tags: [], nodeName: config.nodeName, onError }));
    if (dogStatsdAddr) this.statsd.push(new StatsdMetrics(events, { addr: dogStatsdAddr, dog: true, tags: dogStatsdTags, nodeName: config.nodeName, onError }));
  }

  /** For GET /metrics; null when --enable-prometheus=false. */
  metricsEndpoint(): { contentType: string; text: () => Promise<string> } | null {
    const p = this.prometheus;
    return p ? { contentType: p.contentType, text: () => p.text() } : null;
  }

  async close(): Promise<void> {
    this.notifier.close();
    this.prometheus?.close();
    await Promise.all(this.statsd.map((s) => s.close()));
  }
}
