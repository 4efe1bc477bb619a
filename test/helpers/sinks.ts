/**
 * Real receivers on loopback for notification and metrics tests: an HTTP
 * server (Slack, webhooks), an SMTP server (smtp-server + mailparser) and a
 * UDP socket (StatsD). Each records what arrives and lets a test await a
 * predicate over it (event-driven, with a deadline).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

class Waitable<T> {
  readonly items: T[] = [];
  private waiters: { pred: (items: T[]) => boolean; resolve: () => void }[] = [];

  add(item: T): void {
    this.items.push(item);
    for (const w of [...this.waiters]) {
      if (w.pred(this.items)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  /** Resolves with the items once `pred(items)` holds. */
  waitFor(what: string, pred: (items: T[]) => boolean, timeoutMs = 30_000): Promise<T[]> {
    if (pred(this.items)) return Promise.resolve(this.items);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.items.length} item(s)`));
      }, timeoutMs);
      const waiter = {
        pred,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.items);
        },
      };
      this.waiters.push(waiter);
    });
  }
}

export interface HttpHit {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface HttpSink extends Waitable<HttpHit> {
  url: string;
  close(): Promise<void>;
}

/** `respond` decides each answer; return 'hang' to never answer. */
export async function httpSink(respond: (hit: HttpHit, res: ServerResponse) => 'hang' | void = (_h, res) => void res.end('ok')): Promise<HttpSink> {
  const sink = new Waitable<HttpHit>() as HttpSink;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      sink.add(hit);
      respond(hit, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sink.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return sink;
}

export type ReceivedMail = ParsedMail & { envelopeTo: string[]; secure: boolean; user: string | undefined };

export interface SmtpOptions {
  /** Every recipient fails (a broken mail server). */
  reject?: boolean;
  /** PEM key and certificate: STARTTLS is offered, or with `secure` the connection is TLS from the start. */
  tls?: { key: string; cert: string };
  secure?: boolean;
  /** Require this user (PLAIN/LOGIN). */
  auth?: { user: string; pass: string };
}

export interface MailSink extends Waitable<ReceivedMail> {
  port: number;
  close(): Promise<void>;
}

/** An SMTP server; by default without TLS or auth. */
export async function smtpSink(o: SmtpOptions = {}): Promise<MailSink> {
  const sink = new Waitable<ReceivedMail>() as MailSink;
  const reject = o.reject ?? false;
  const server = new SMTPServer({
    authOptional: !o.auth,
    disabledCommands: o.tls ? [] : ['STARTTLS'],
    ...(o.tls ? { key: o.tls.key, cert: o.tls.cert, secure: o.secure ?? false } : {}),
    logger: false,
    onAuth(auth, _session, callback) {
      if (o.auth && auth.username === o.auth.user && auth.password === o.auth.pass) callback(null, { user: auth.username });
      else callback(new Error('invalid credentials'));
    },
    onRcptTo(_address, _session, callback) {
      callback(reject ? Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }) : undefined);
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          const user = typeof session.user === 'string' ? session.user : undefined;
          sink.add(Object.assign(mail, { envelopeTo: session.envelope.rcptTo.map((r) => r.address), secure: session.secure, user }));
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.port = (server.server.address() as AddressInfo).port;
  sink.close = () => new Promise((resolve) => server.close(() => resolve()));
  return sink;
}

export interface UdpSink extends Waitable<string> {
  addr: string;
  close(): Promise<void>;
}

/** One line per metric (datagrams may carry several, newline separated). */
export async function udpSink(): Promise<UdpSink> {
  const sink = new Waitable<string>() as UdpSink;
  const socket = createSocket('udp4');
  socket.on('message', (msg) => {
    for (const line of msg.toString('utf8').split('\n')) if (line) sink.add(line);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  sink.addr = `127.0.0.1:${socket.address().port}`;
  sink.close = () => new Promise((resolve) => socket.close(() => resolve()));
  return sink;
}
