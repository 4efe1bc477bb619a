/**
 * Go `time.ParseDuration` syntax ("1h30m", "250ms", "1.5s", "-2m"), because
 * dkron job files and flags use it everywhere (timeouts, `@every`).
 * Returns milliseconds (fractions kept, callers round as they need).
 */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

export class DurationError extends Error {}

export function parseGoDuration(input: string): number {
  const s = input.trim();
  if (s === '') throw new DurationError('empty duration');
  let rest = s;
  let sign = 1;
  if (rest[0] === '-' || rest[0] === '+') {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new DurationError(`invalid duration "${input}"`);
  const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  let total = 0;
  while (rest.length > 0) {
    const m = part.exec(rest);
    if (!m) {
      if (/^(\d+(?:\.\d*)?|\.\d+)$/.test(rest)) throw new DurationError(`missing unit in duration "${input}"`);
      throw new DurationError(`invalid duration "${input}"`);
    }
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}

/** Formats milliseconds the way Go prints a duration (used in messages only). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  if (rest < 1000) return `${neg ? '-' : ''}${rest}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = rest / 1000;
  return `${neg ? '-' : ''}${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${Number(s.toFixed(3))}s`;
}

/**
 * dkron's executor timeouts: a bare number is seconds ("30", "1.5"), anything else a Go duration.
 * Milliseconds; throws DurationError on a bad value.
 */
export function parseSecondsOrDuration(input: string): number {
  return /^\s*\d+(\.\d+)?\s*$/.test(input) ? Number(input) * 1000 : parseGoDuration(input);
}
