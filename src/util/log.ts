/**
 * pino, writing either JSON lines (for log shippers) or one readable text
 * line per event (the default, as an operator tails it), both to stderr so
 * stdout stays free for command output.
 */
import { pino, type Logger } from 'pino';

export type { Logger };
export type LogFormat = 'text' | 'json';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'node']);

function textLine(json: string): string {
  try {
    const o = JSON.parse(json) as Record<string, unknown>;
    const extra = Object.entries(o)
      .filter(([k]) => !SKIP.has(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)}`)
      .join(' ');
    const time = new Date(Number(o.time)).toISOString();
    return `${time} ${LEVELS[Number(o.level)] ?? o.level} ${String(o.msg ?? '')}${extra ? ` ${extra}` : ''}\n`;
  } catch {
    return json;
  }
}

export function createLogger(options: { level: string; format: LogFormat; node?: string }): Logger {
  const stream =
    options.format === 'json'
      ? pino.destination({ fd: 2, sync: true })
      : { write: (line: string) => process.stderr.write(textLine(line)) };
  return pino({ level: options.level, base: options.node ? { node: options.node } : {} }, stream);
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
