/**
 * RFC 5424 pieces for the `syslog` processor: the target address, header fields and the
 * message itself. Pure functions, so the processor file only deals with transports.
 */

/** Facility `cron` (RFC 5424 §6.2.1, code 9). */
export const FACILITY_CRON = 9;
export const SEVERITY_INFO = 6;
export const SEVERITY_ERR = 3;
export const APP_NAME = 'kairos';
/** SD-ID for our structured data: RFC 5612's documentation enterprise number, as logger(1) does for custom ids. */
export const SD_ID = 'kairos@32473';
const DEFAULT_PORT = 514;

export type SyslogTarget =
  | { kind: 'local' }
  | { kind: 'udp' | 'tcp'; host: string; port: number; address: string };

/** Parses the job's `address`: `udp://host:port`, `tcp://host:port` (port defaults to 514), or empty for local. */
export function parseSyslogAddress(address: string | undefined): SyslogTarget | string {
  const raw = (address ?? '').trim();
  if (raw === '') return { kind: 'local' };
  const match = /^(udp|tcp):\/\/(\[[0-9A-Fa-f:.]+\]|[^/:[\]@?#\s]+)(?::(\d{1,5}))?\/?$/.exec(raw);
  if (!match) return `address must be udp://host:port or tcp://host:port (or empty for the local syslog), got "${raw}"`;
  const [, scheme, hostPart, portPart] = match;
  const port = portPart === undefined ? DEFAULT_PORT : Number(portPart);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `address port must be 1-65535, got "${portPart}"`;
  const host = (hostPart ?? '').replace(/^\[(.*)\]$/, '$1');
  return { kind: scheme === 'tcp' ? 'tcp' : 'udp', host, port, address: raw };
}

/** PRINTUSASCII (33-126) only, at most `max` characters; `-` (the nil value) when nothing is left. */
export function headerField(value: string, max: number): string {
  const cleaned = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return cleaned === '' ? '-' : cleaned;
}

/** SD-PARAM values escape `"`, `\` and `]` (RFC 5424 §6.3.3). */
export function sdValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** `name="value"` pairs, also what logger's `--sd-param` takes. */
export function sdParams(params: Record<string, string>): string[] {
  return Object.entries(params).map(([k, v]) => `${k}="${sdValue(v)}"`);
}

export function structuredData(params: Record<string, string>): string {
  return `[${SD_ID} ${sdParams(params).join(' ')}]`;
}

/**
 * Keeps the last `maxBytes` bytes of `text` (the end of a job's output usually says why it
 * failed), cut on a UTF-8 character boundary, with a marker saying how much was dropped.
 */
export function tailBytes(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  const marker = (dropped: number): string => `[truncated ${dropped} bytes] `;
  // The marker itself takes room; its length barely depends on the count, so one correction suffices.
  let keep = Math.max(0, maxBytes - Buffer.byteLength(marker(buf.length)));
  let start = buf.length - keep;
  // Skip UTF-8 continuation bytes (10xxxxxx) so the kept part starts on a character.
  while (start < buf.length && ((buf[start] ?? 0) & 0xc0) === 0x80) start++;
  keep = buf.length - start;
  return marker(buf.length - keep) + buf.subarray(start).toString('utf8');
}

export interface SyslogFields {
  severity: number;
  timestamp: Date;
  hostname: string;
  procId: string;
  msgId: string;
  /** Params of our SD element (job, execution, ...). */
  sd: Record<string, string>;
}

export function syslogHeader(f: SyslogFields): string {
  const pri = FACILITY_CRON * 8 + f.severity;
  return [
    `<${pri}>1`,
    f.timestamp.toISOString(),
    headerField(f.hostname, 255),
    APP_NAME,
    headerField(f.procId, 128),
    headerField(f.msgId, 32),
    structuredData(f.sd),
  ].join(' ');
}

/**
 * One RFC 5424 message of at most `maxBytes` bytes: header, a space and the message (no BOM, as
 * logger(1) does: receivers treat it as MSG-ANY, and UTF-8 passes through).
 */
export function formatSyslog(f: SyslogFields, message: string, maxBytes: number): string {
  const header = syslogHeader(f);
  const room = Math.max(0, maxBytes - Buffer.byteLength(header) - 1);
  return `${header} ${tailBytes(message, room)}`;
}
