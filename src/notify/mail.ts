/**
 * Notification mail over SMTP (nodemailer): STARTTLS when the server offers
 * it, implicit TLS with --mail-tls, PLAIN/LOGIN auth only when a user and
 * password are set. Subject as dkron's: `<prefix><Success|Failed> <job> execution report`
 * (no space after the prefix); Kairos' own notices say `Skipped …` / `Late start …`. The text body is --mail-payload rendered, or a
 * readable summary with the output; the HTML body shows the same facts.
 */
import type { Transporter } from 'nodemailer';
import type { Notice } from './message.js';
import { durationText, finalAttempts, groupDurationMs, lateFacts, outcomeWord, tail } from './message.js';
import { htmlEscape } from './template.js';

export interface MailSettings {
  host: string;
  port: number;
  username: string | null;
  password: string | null;
  from: string;
  subjectPrefix: string;
  tls: boolean;
  timeoutMs: number;
}

export class Mailer {
  /** Made on the first mail: nodemailer is loaded then, not at every agent start (~90 ms here). */
  private transport: Promise<Transporter> | null = null;

  constructor(private readonly s: MailSettings) {}

  private transporter(): Promise<Transporter> {
    const s = this.s;
    this.transport ??= import('nodemailer').then(({ createTransport }) =>
      createTransport({
        host: s.host,
        port: s.port,
        secure: s.tls,
        ...(s.username !== null && s.password !== null ? { auth: { user: s.username, pass: s.password } } : {}),
        connectionTimeout: s.timeoutMs,
        greetingTimeout: s.timeoutMs,
        socketTimeout: s.timeoutMs,
      }),
    );
    return this.transport;
  }

  async send(to: string[], n: Notice, text: string | null, signal: AbortSignal): Promise<void> {
    const subject = mailSubject(this.s.subjectPrefix, n);
    const body = mailBodies(n);
    const sending = this.transporter().then((t) => t.sendMail({ from: this.s.from, to, subject, text: text ?? body.text, html: body.html }));
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      if (signal.aborted) onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      sending.then(
        () => resolve(),
        (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
      ).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  close(): void {
    void this.transport?.then((t) => t.close());
  }
}

export function mailSubject(prefix: string, n: Notice): string {
  if (n.kind === 'skip') return `${prefix}Skipped ${n.job} tick`;
  if (n.kind === 'late') return `${prefix}Late start ${n.job} execution (${durationText(n.latenessMs)} late, SLO ${n.limit})`;
  return `${prefix}${n.status === 'success' ? 'Success' : 'Failed'} ${n.job} execution report`;
}

export function mailBodies(n: Notice): { text: string; html: string } {
  const rows: [string, string][] = [['Job', n.job]];
  let output = '';
  if (n.kind === 'skip') {
    rows.push(['Outcome', 'skipped'], ['Scheduled', n.scheduledAt], ['Reason', n.reason]);
  } else if (n.kind === 'late') {
    rows.push(...lateFacts(n));
  } else {
    const finals = finalAttempts(n.group);
    rows.push(
      ['Outcome', `${n.status} (${outcomeWord(n.status)})`],
      ['Nodes', finals.map((e) => `${e.node_name}${e.success ? '' : ' (failed)'}`).join(', ')],
      ['Started', n.last.started_at],
      ['Finished', n.last.finished_at ?? ''],
      ['Duration', durationText(groupDurationMs(n.group))],
      ['Exit code', [...new Set(finals.map((e) => (e.exit_code === null ? '—' : String(e.exit_code))))].join(', ')],
      ['Attempts', String(Math.max(...n.group.map((e) => e.attempt)))],
      ['Execution', `${n.last.id} (group ${n.last.group})`],
    );
    output = tail(n.last.output, 20_000);
  }
  rows.push(['Reported by', n.reportingNode]);
  if (n.link) rows.push(['Link', n.link]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const text =
    rows.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`).join('\n') +
    (n.kind === 'group' ? `\n\nOutput:\n${output === '' ? '(no output)' : output}\n` : '\n');
  const html =
    `<!doctype html><html><body style="font-family:sans-serif">` +
    `<h2>${htmlEscape(n.kind === 'skip' ? `${n.job}: tick skipped` : n.kind === 'late' ? `${n.job}: started late` : `${n.job} ${outcomeWord(n.status)}`)}</h2>` +
    `<table cellpadding="4">${rows
      .map(([k, v]) => `<tr><th align="left">${htmlEscape(k)}</th><td>${k === 'Link' ? `<a href="${htmlEscape(v)}">${htmlEscape(v)}</a>` : htmlEscape(v)}</td></tr>`)
      .join('')}</table>` +
    (n.kind === 'group' ? `<h3>Output</h3><pre>${htmlEscape(output === '' ? '(no output)' : output)}</pre>` : '') +
    `</body></html>`;
  return { text, html };
}
