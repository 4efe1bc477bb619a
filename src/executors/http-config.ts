/**
 * Parsing and save-time checks of the `http` executor's `executor_config`
 * (dkron's keys, all strings). The executor parses again at run time, so a job
 * saved before a check existed still fails with the same message.
 */
import { METHODS, validateHeaderName, validateHeaderValue } from 'node:http';
import { parseGoDuration } from '../util/duration.js';

export type Problem = { field: string; message: string };

export interface HttpTlsConfig {
  noVerifyPeer: boolean;
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface HttpJobConfig {
  method: string;
  url: URL;
  headers: Array<[string, string]>;
  body: string;
  /** 0 = no limit (dkron: Go's `http.Client{Timeout: 0}`). */
  timeoutMs: number;
  /** null = any status code is a success, as in dkron. */
  expectCodes: number[] | null;
  expectBody: RegExp | null;
  debug: boolean;
  tls: HttpTlsConfig;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const KNOWN_METHODS = new Set(METHODS);

const problem = (key: string, message: string): Problem => ({ field: `executor_config.${key}`, message });

export function parseHttpConfig(config: Record<string, string>): HttpJobConfig | Problem {
  const rawMethod = (config.method ?? '').trim();
  if (rawMethod === '') return problem('method', 'method is required for the http executor');
  // dkron passes the method to Go as written; a lowercase method is accepted and sent uppercase.
  const method = rawMethod.toUpperCase();
  if (!KNOWN_METHODS.has(method)) return problem('method', `unknown HTTP method "${rawMethod}"`);

  const rawUrl = (config.url ?? '').trim();
  if (rawUrl === '') return problem('url', 'url is required for the http executor');
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return problem('url', `url "${rawUrl}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return problem('url', `url must use http or https, got "${url.protocol.slice(0, -1)}"`);
  }

  const headers = parseHeaderList(config.headers, 'headers');
  if (!Array.isArray(headers)) return headers;
  for (const [name, value] of headers) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch (err) {
      return problem('headers', `header "${name}": ${(err as Error).message}`);
    }
  }

  const timeoutMs = parseTimeoutSeconds(config.timeout, DEFAULT_TIMEOUT_MS, { allowZero: true });
  if (typeof timeoutMs !== 'number') return timeoutMs;

  const expectCodes = parseExpectCodes(config.expectCode);
  if (expectCodes !== null && !Array.isArray(expectCodes)) return expectCodes;

  const expectBody = compileGoRegex(config.expectBody);
  if (expectBody !== null && !(expectBody instanceof RegExp)) return expectBody;

  const tls = parseTls(config);
  if ('field' in tls) return tls;

  return {
    method,
    url,
    headers,
    body: config.body ?? '',
    timeoutMs,
    expectCodes,
    expectBody,
    debug: (config.debug ?? '') !== '',
    tls,
  };
}

/**
 * dkron's `headers`: a JSON array of `"Name: value"` strings. Split at the
 * first colon (dkron splits at every colon and drops what follows the second,
 * which breaks values such as URLs). Empty entries are skipped, as in dkron.
 */
export function parseHeaderList(raw: string | undefined, key: string): Array<[string, string]> | Problem {
  if (raw === undefined || raw.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    return problem(key, `${key} must be a JSON array of "Name: value" strings: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) return problem(key, `${key} must be a JSON array of "Name: value" strings`);
  const out: Array<[string, string]> = [];
  for (const item of parsed as unknown[]) {
    if (typeof item !== 'string') return problem(key, `${key} entries must be strings, got ${JSON.stringify(item)}`);
    if (item.trim() === '') continue;
    const colon = item.indexOf(':');
    if (colon <= 0 || item.slice(0, colon).trim() === '') {
      return problem(key, `header "${item}" must look like "Name: value"`);
    }
    out.push([item.slice(0, colon).trim(), item.slice(colon + 1).trim()]);
  }
  return out;
}

/**
 * dkron's timeouts are whole seconds ("30"); a Go duration ("1m30s", "250ms")
 * is accepted too because every other Kairos timeout uses that syntax.
 */
export function parseTimeoutSeconds(
  raw: string | undefined,
  fallbackMs: number,
  opts: { allowZero: boolean },
): number | Problem {
  const s = (raw ?? '').trim();
  if (s === '') return fallbackMs;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(s)) {
    ms = Number(s) * 1000;
  } else {
    try {
      ms = parseGoDuration(s);
    } catch (err) {
      return problem('timeout', `timeout must be seconds ("30") or a duration ("5s"): ${(err as Error).message}`);
    }
  }
  if (ms < 0 || (ms === 0 && !opts.allowZero) || !Number.isFinite(ms)) {
    return problem('timeout', `timeout must be positive, got "${s}"`);
  }
  return Math.ceil(ms);
}

function parseExpectCodes(raw: string | undefined): number[] | null | Problem {
  if (raw === undefined || raw.trim() === '') return null;
  const codes: number[] = [];
  for (const item of raw.split(',')) {
    const t = item.trim();
    if (t === '') continue;
    if (!/^\d{3}$/.test(t) || Number(t) < 100) {
      return problem('expectCode', `expectCode must be a comma list of HTTP status codes, got "${t}"`);
    }
    codes.push(Number(t));
  }
  return codes.length === 0 ? null : codes;
}

/**
 * dkron matches with Go's regexp. JavaScript has no inline flag groups, so a
 * leading `(?i)`, `(?s)`, `(?m)` (or a mix) becomes the RegExp's flags, and
 * Go's `(?P<name>` becomes `(?<name>`; the rest of RE2's common syntax means
 * the same in JavaScript.
 */
export function compileGoRegex(raw: string | undefined): RegExp | null | Problem {
  if (raw === undefined || raw === '') return null;
  let source = raw;
  let flags = '';
  const inline = /^\(\?([ims]+)\)/.exec(source);
  if (inline) {
    flags = [...new Set(inline[1] ?? '')].join('');
    source = source.slice(inline[0].length);
  }
  source = source.replace(/\(\?P</g, '(?<');
  try {
    return new RegExp(source, flags);
  } catch (err) {
    return problem('expectBody', `expectBody is not a valid regular expression: ${(err as Error).message}`);
  }
}

/** Go's strconv.ParseBool, which dkron uses for `tlsNoVerifyPeer`. */
function parseGoBool(raw: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
  return null;
}

function parseTls(config: Record<string, string>): HttpTlsConfig | Problem {
  const rawNoVerify = (config.tlsNoVerifyPeer ?? '').trim();
  const noVerifyPeer = rawNoVerify === '' ? false : parseGoBool(rawNoVerify);
  if (noVerifyPeer === null) {
    return problem('tlsNoVerifyPeer', `tlsNoVerifyPeer must be "true" or "false", got "${rawNoVerify}"`);
  }
  const certFile = (config.tlsCertificateFile ?? '').trim();
  const keyFile = (config.tlsCertificateKeyFile ?? '').trim();
  const caFile = (config.tlsRootCAsFile ?? '').trim();
  // Files are not read here: the job is saved on one node and runs on others.
  if (certFile !== '' && keyFile === '') {
    return problem('tlsCertificateKeyFile', 'tlsCertificateKeyFile is required with tlsCertificateFile');
  }
  if (keyFile !== '' && certFile === '') {
    return problem('tlsCertificateFile', 'tlsCertificateFile is required with tlsCertificateKeyFile');
  }
  return { noVerifyPeer, certFile, keyFile, caFile };
}
