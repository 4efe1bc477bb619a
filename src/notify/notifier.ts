/**
 * Decides what to notify and queues it. Subscribes to the bus:
 * - `group.finished` (published once per group, by the agent whose compare-and-set
 *   applied it) → per the job's `notify_on` (or --notify-on): webhook, Slack, mail;
 * - `tick.skipped` (published by the leader) → when `notify_skip` (or --notify-skip);
 * - `execution.started` → the pre-webhook;
 * - `execution.late` (published by the agent that started the run) → when the job's
 *   notifications cover failures (`lateNotified`).
 * Deliveries go through the bounded DeliveryQueue; each record is stored with
 * the execution that closed the group (`notifications` in the execution JSON).
 */
import type { EventBus } from '../events/bus.js';
import type { NotifyConfig } from '../agent/config.js';
import type { Execution, Job, JobStatus, NotificationRecord, NotifyOn } from '../job/types.js';
import type { Store } from '../store/types.js';
import type { Logger } from '../util/log.js';
import { compileTemplate, TemplateError, type CompiledTemplate } from './template.js';
import { TEMPLATE_FIELDS, templateData } from './report.js';
import { DeliveryQueue, type Channel, type Delivery } from './queue.js';
import { jobLink, summary, type Notice } from './message.js';
import { parseHeaders, post, redactUrl } from './http.js';
import { slackMessage } from './slack.js';
import { Mailer } from './mail.js';

export interface NotifierDeps {
  bus: EventBus;
  store: Store;
  nodeName: string;
  log: Logger;
}

/** Whether a group with `status` after `previous` is notified under `mode`. */
export function shouldNotify(mode: Exclude<NotifyOn, ''>, status: JobStatus, previous: JobStatus): boolean {
  const ok = status === 'success';
  switch (mode) {
    case 'always':
      return true;
    case 'never':
      return false;
    case 'success':
      return ok;
    case 'failure':
      return !ok;
    case 'change':
      // A job that never ran counts as succeeding: its first failure is a change, its first success is not.
      return ok !== (previous === '' || previous === 'success');
  }
}

/**
 * Whether a late start is notified under `mode`: a breached SLO is a problem, so it is told
 * wherever every failure is told (`failure`, `always`). `change` tells only transitions of
 * the outcome, which a start doesn't have; `success` and `never` don't tell problems.
 */
export function lateNotified(mode: Exclude<NotifyOn, ''>): boolean {
  return mode === 'failure' || mode === 'always';
}

function compile(option: string, source: string | null | undefined): CompiledTemplate | null {
  if (!source) return null;
  try {
    return compileTemplate(source, TEMPLATE_FIELDS);
  } catch (err) {
    if (err instanceof TemplateError) throw new TemplateError(`option ${option}: ${err.message}`);
    throw err;
  }
}

export class Notifier {
  readonly queue: DeliveryQueue;
  private readonly webhook: CompiledTemplate | null;
  private readonly preWebhook: CompiledTemplate | null;
  private readonly mailPayload: CompiledTemplate | null;
  private readonly mailer: Mailer | null;
  private readonly unsubscribe: (() => void)[] = [];
  /** Record writes per execution, in order (read-modify-write of the execution record). */
  private readonly writes = new Map<string, Promise<void>>();

  /** Throws TemplateError (naming the option and the construct) for a template Kairos can't render. */
  constructor(private readonly c: NotifyConfig, private readonly d: NotifierDeps) {
    this.webhook = compile('webhook-payload', c.webhook?.payload);
    this.preWebhook = compile('pre-webhook-payload', c.preWebhook?.payload);
    this.mailPayload = compile('mail-payload', c.mail?.payload);
    if (c.webhook && !this.webhook) d.log.warn('notify: --webhook-endpoint without --webhook-payload sends nothing (as dkron)');
    if (c.preWebhook && !this.preWebhook) d.log.warn('notify: --pre-webhook-endpoint without --pre-webhook-payload sends nothing (as dkron)');
    this.mailer = c.mail ? new Mailer({ ...c.mail, timeoutMs: c.timeoutMs }) : null;
    this.queue = new DeliveryQueue({
      size: c.queueSize,
      attempts: c.attempts,
      backoffMs: c.backoffMs,
      timeoutMs: c.timeoutMs,
      onOutcome: (channel, outcome) => d.bus.publish('notify.delivery', { channel, outcome }),
    });
    this.unsubscribe.push(
      d.bus.on('group.finished', (e) => this.onGroup(e.job, e.status, e.previous, e.last)),
      d.bus.on('tick.skipped', (e) => this.onSkip(e.job, e.reason, e.scheduledAt)),
      d.bus.on('execution.started', (e) => this.onStarted(e.execution)),
      d.bus.on('execution.late', (e) => this.onLate(e.job, e.execution, e.latenessMs)),
    );
  }

  close(): void {
    for (const off of this.unsubscribe) off();
    const left = this.queue.close();
    if (left > 0) this.d.log.warn({ notifications: left }, 'notify: agent stopping; undelivered notifications dropped');
    this.mailer?.close();
  }

  private async onGroup(job: Job, status: JobStatus, previous: JobStatus, last: Execution): Promise<void> {
    const mode = job.notify_on || this.c.notifyOn;
    if (!shouldNotify(mode, status, previous)) return;
    // With the store away, notify from the closing execution alone rather than not at all.
    const group = await this.d.store.listGroup(job.name, last.group).catch(() => [] as Execution[]);
    const members = group.length > 0 ? group : [last];
    const notice: Notice = { kind: 'group', job: job.name, status, last, group: members, reportingNode: this.d.nodeName, link: jobLink(this.c.uiUrl, job.name) };
    this.d.log.debug({ job: job.name, status, notify_on: mode }, `notify: ${summary(notice)}`);
    const data = templateData(last, members, this.d.nodeName);
    const record = (r: NotificationRecord): void => this.record(last, r);
    if (this.c.webhook && this.webhook) {
      const { endpoint, headers } = this.c.webhook;
      const body = this.webhook.render(data);
      this.enqueue('webhook', redactUrl(endpoint), (signal) => post(endpoint, body, parseHeaders(headers), signal), record);
    }
    this.slack(job, notice, record);
    this.mail(job, notice, this.mailPayload?.render(data) ?? null, record);
  }

  private async onSkip(name: string, reason: string, scheduledAt: string): Promise<void> {
    const job = await this.d.store.getJob(name);
    if (!job) return;
    const wanted = job.notify_skip ?? this.c.notifySkip;
    if (!wanted || (job.notify_on || this.c.notifyOn) === 'never') return;
    const notice: Notice = { kind: 'skip', job: name, reason, scheduledAt, reportingNode: this.d.nodeName, link: jobLink(this.c.uiUrl, name) };
    this.d.log.debug({ job: name, reason }, `notify: ${summary(notice)}`);
    if (this.c.webhook && this.webhook) {
      const { endpoint, headers } = this.c.webhook;
      // dkron has no skip notice; the payload template gets a skipped pseudo-execution.
      const pseudo: Execution = {
        id: '',
        job_name: name,
        started_at: scheduledAt,
        finished_at: scheduledAt,
        success: false,
        output: `skipped: ${reason}`,
        node_name: '',
        group: 0,
        attempt: 0,
        exit_code: null,
        scheduled_at: scheduledAt,
        trigger: 'schedule',
      };
      const body = this.webhook.render(templateData(pseudo, [], this.d.nodeName));
      this.enqueue('webhook', redactUrl(endpoint), (signal) => post(endpoint, body, parseHeaders(headers), signal));
    }
    this.slack(job, notice);
    this.mail(job, notice, null);
  }

  private onLate(job: Job, execution: Execution, latenessMs: number): void {
    const limit = job.max_start_delay ?? '';
    // Logged whatever notify_on says: the log is where an operator looks for a breach not told.
    this.d.log.warn({ job: job.name, execution: execution.id, scheduled_at: execution.scheduled_at, lateness_ms: Math.round(latenessMs), max_start_delay: limit }, 'notify: execution started later than its max_start_delay');
    const mode = job.notify_on || this.c.notifyOn;
    if (!lateNotified(mode)) return;
    const notice: Notice = {
      kind: 'late',
      job: job.name,
      execution,
      latenessMs,
      limit,
      reportingNode: this.d.nodeName,
      link: jobLink(this.c.uiUrl, job.name),
    };
    this.d.log.debug({ job: job.name, notify_on: mode }, `notify: ${summary(notice)}`);
    if (this.c.webhook && this.webhook) {
      const { endpoint, headers } = this.c.webhook;
      // dkron has no late notice: the payload template gets the execution as it started, the breach as its output.
      const started: Execution = { ...execution, finished_at: null, output: summary(notice) };
      const body = this.webhook.render(templateData(started, [started], this.d.nodeName));
      this.enqueue('webhook', redactUrl(endpoint), (signal) => post(endpoint, body, parseHeaders(headers), signal));
    }
    // Not recorded on the execution: the runner rewrites that record when the run ends.
    this.slack(job, notice);
    this.mail(job, notice, null);
  }

  private onStarted(execution: Execution): void {
    if (!this.c.preWebhook || !this.preWebhook) return;
    const { endpoint, headers } = this.c.preWebhook;
    const body = this.preWebhook.render(templateData({ ...execution, finished_at: null }, [execution], this.d.nodeName));
    this.enqueue('pre-webhook', redactUrl(endpoint), (signal) => post(endpoint, body, parseHeaders(headers), signal));
  }

  private slack(job: Job, notice: Notice, record?: (r: NotificationRecord) => void): void {
    const url = job.slack_webhook_url || this.c.slack.webhookUrl;
    if (!url) return;
    const body = JSON.stringify(slackMessage(notice, job.slack_channel || this.c.slack.channel));
    this.enqueue('slack', redactUrl(url), (signal) => post(url, body, { 'content-type': 'application/json' }, signal), record);
  }

  private mail(job: Job, notice: Notice, text: string | null, record?: (r: NotificationRecord) => void): void {
    const mailer = this.mailer;
    if (!mailer || !this.c.mail) return;
    const to = [...new Set([...splitAddresses(job.owner_email), ...this.c.mail.to])];
    if (to.length === 0) return;
    this.enqueue('mail', to.join(', '), (signal) => mailer.send(to, notice, text, signal), record);
  }

  private enqueue(channel: Channel, target: string, send: Delivery['send'], onUpdate?: (r: NotificationRecord) => void): void {
    const delivery: Delivery = {
      record: { channel, target, status: 'pending', attempts: 0, last_error: null, at: new Date().toISOString() },
      send,
      onUpdate: (r) => {
        onUpdate?.(r);
        if (r.status === 'failed') this.d.log.warn({ channel, target, attempts: r.attempts, err: r.last_error }, 'notify: delivery failed');
        else if (r.status === 'pending' && r.last_error) this.d.log.info({ channel, target, attempts: r.attempts, err: r.last_error }, 'notify: delivery attempt failed; retrying');
      },
    };
    this.queue.push(delivery);
  }

  /** Store the record with the execution (records keyed by channel and target). */
  private record(execution: Execution, r: NotificationRecord): void {
    const key = `${execution.job_name}/${execution.id}`;
    const prev = this.writes.get(key) ?? Promise.resolve();
    const next = prev.then(async () => {
      const current = await this.d.store.getExecution(execution.job_name, execution.id);
      if (!current) return; // pruned meanwhile
      const list = [...(current.notifications ?? [])];
      const i = list.findIndex((x) => x.channel === r.channel && x.target === r.target);
      if (i === -1) list.push(r);
      else list[i] = r;
      await this.d.store.putExecution({ ...current, notifications: list });
    }).catch((err: unknown) => {
      this.d.log.warn({ job: execution.job_name, execution: execution.id, err: (err as Error).message }, 'notify: cannot record notification result');
    });
    this.writes.set(key, next);
    void next.then(() => {
      if (this.writes.get(key) === next) this.writes.delete(key);
    });
  }
}

function splitAddresses(s: string): string[] {
  return s
    .split(/[,;\s]+/)
    .map((a) => a.trim())
    .filter((a) => a.includes('@'));
}
