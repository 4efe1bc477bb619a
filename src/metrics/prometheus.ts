/**
 * Prometheus metrics (prom-client), fed by the event bus. One registry per
 * agent; gauges that mirror live state (leader, members, running, queued,
 * notification queue) are read at scrape time. Names: README "Notifications
 * and metrics" and docs/decisions.md (dkron's names where dkron has one).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventBus } from '../events/bus.js';
import { startCounts } from '../job/slo.js';

export interface LiveState {
  isLeader(): boolean;
  members(): Promise<number>;
  running(): number;
  queued(): number;
  notifyQueueDepth(): number;
}

const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const LATENESS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class PrometheusMetrics {
  readonly registry = new Registry();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(bus: EventBus, live: LiveState, nodeName: string) {
    const r = [this.registry];
    this.registry.setDefaultLabels({ node: nodeName });
    collectDefaultMetrics({ register: this.registry });
    const started = new Counter({ name: 'kairos_job_executions_started_total', help: 'Execution attempts started on this agent', labelNames: ['job_name'], registers: r });
    const finished = new Counter({
      name: 'kairos_job_executions_finished_total',
      help: 'Execution attempts finished on this agent, by outcome (success, failed)',
      labelNames: ['job_name', 'outcome'],
      registers: r,
    });
    const duration = new Histogram({
      name: 'kairos_job_execution_duration_seconds',
      help: 'Duration of execution attempts',
      labelNames: ['job_name', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers: r,
    });
    const lateness = new Histogram({
      name: 'kairos_job_start_lateness_seconds',
      help: 'Scheduled time to process start, first attempts of scheduled runs',
      labelNames: ['job_name'],
      buckets: LATENESS_BUCKETS,
      registers: r,
    });
    const sloBreaches = new Counter({
      name: 'kairos_job_start_slo_breaches_total',
      help: "Scheduled runs (first attempts) that started later than their job's max_start_delay",
      labelNames: ['job_name'],
      registers: r,
    });
    const dispatched = new Counter({ name: 'kairos_scheduler_ticks_dispatched_total', help: 'Ticks dispatched by this agent while leader', labelNames: ['job_name'], registers: r });
    const skipped = new Counter({
      name: 'kairos_scheduler_ticks_skipped_total',
      help: 'Ticks not run, by reason (the skip code: no_agent, no_executor, forbid, no_leader, catch_up_skip, starting_deadline, not_runnable, dispatch_failed)',
      labelNames: ['job_name', 'reason'],
      registers: r,
    });
    const groups = new Counter({
      name: 'kairos_job_groups_finished_total',
      help: 'Execution groups whose outcome this agent applied (once per group cluster-wide)',
      labelNames: ['job_name', 'status'],
      registers: r,
    });
    const leaderChanges = new Counter({ name: 'kairos_leader_changes_total', help: 'Times this agent gained or lost leadership', registers: r });
    const memberEvents = new Counter({ name: 'kairos_member_events_total', help: 'Members seen joining or leaving', labelNames: ['event'], registers: r });
    const notifications = new Counter({
      name: 'kairos_notifications_total',
      help: 'Notification deliveries by channel and outcome (sent, failed, retry, dropped)',
      labelNames: ['channel', 'outcome'],
      registers: r,
    });
    const storeCalls = new Histogram({
      name: 'kairos_store_call_duration_seconds',
      help: 'Store call latency by operation',
      labelNames: ['operation'],
      buckets: STORE_BUCKETS,
      registers: r,
    });
    const storeErrors = new Counter({ name: 'kairos_store_call_errors_total', help: 'Store calls that failed, by operation', labelNames: ['operation'], registers: r });
    new Gauge({ name: 'kairos_is_leader', help: '1 while this agent leads', registers: r, collect() { this.set(live.isLeader() ? 1 : 0); } });
    new Gauge({
      name: 'kairos_members',
      help: 'Members of the cluster as this agent sees them',
      registers: r,
      async collect() {
        try {
          this.set(await live.members());
        } catch {
          // store away: keep the last value
        }
      },
    });
    new Gauge({ name: 'kairos_executions_running', help: 'Executions running on this agent', registers: r, collect() { this.set(live.running()); } });
    new Gauge({ name: 'kairos_executions_queued', help: 'Executions waiting for a --max-parallel slot on this agent', registers: r, collect() { this.set(live.queued()); } });
    new Gauge({ name: 'kairos_notify_queue_depth', help: 'Notifications waiting for delivery', registers: r, collect() { this.set(live.notifyQueueDepth()); } });

    this.unsubscribe.push(
      bus.on('execution.started', (e) => {
        started.inc({ job_name: e.execution.job_name });
        if (startCounts(e.execution) && e.latenessMs >= 0) {
          lateness.observe({ job_name: e.execution.job_name }, e.latenessMs / 1000);
        }
      }),
      bus.on('execution.late', (e) => sloBreaches.inc({ job_name: e.execution.job_name })),
      bus.on('execution.finished', (e) => {
        const outcome = e.execution.success ? 'success' : 'failed';
        finished.inc({ job_name: e.execution.job_name, outcome });
        if (Number.isFinite(e.durationMs) && e.durationMs >= 0) duration.observe({ job_name: e.execution.job_name, outcome }, e.durationMs / 1000);
      }),
      bus.on('tick.dispatched', (e) => dispatched.inc({ job_name: e.job })),
      bus.on('tick.skipped', (e) => skipped.inc({ job_name: e.job, reason: e.kind }, e.count)),
      bus.on('group.finished', (e) => groups.inc({ job_name: e.job.name, status: e.status })),
      bus.on('leadership.acquired', () => leaderChanges.inc()),
      bus.on('leadership.lost', () => leaderChanges.inc()),
      bus.on('member.joined', () => memberEvents.inc({ event: 'join' })),
      bus.on('member.left', () => memberEvents.inc({ event: 'leave' })),
      bus.on('notify.delivery', (e) => notifications.inc({ channel: e.channel, outcome: e.outcome })),
      bus.on('store.call', (e) => {
        storeCalls.observe({ operation: e.op }, e.ms / 1000);
        if (!e.ok) storeErrors.inc({ operation: e.op });
      }),
    );
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  close(): void {
    for (const off of this.unsubscribe) off();
    this.registry.clear();
  }
}
