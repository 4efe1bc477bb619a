/**
 * Parsing and save-time checks of the `grpc` executor's `executor_config`.
 * dkron's keys: `url`, `body`, `timeout`, `expectCode` (plus `headers` from its
 * docs); `tls`, `tlsRootCAsFile` and `tlsNoVerifyPeer` are Kairos additions
 * (dkron always dials in plaintext).
 */
import { parseHeaderList, parseTimeoutSeconds } from './http-config.js';
import type { Problem } from './http-config.js';

export interface GrpcJobConfig {
  /** `host:port`, as gRPC dials it. */
  address: string;
  /** Fully-qualified service, e.g. `package.Service`. */
  service: string;
  method: string;
  body: unknown;
  metadata: Array<[string, string]>;
  timeoutMs: number;
  expectCode: number;
  tls: { enabled: boolean; caFile: string; noVerifyPeer: boolean };
}

const DEFAULT_TIMEOUT_MS = 30_000;
// gRPC status codes are 0 (OK) … 16 (UNAUTHENTICATED).
const MAX_STATUS = 16;

const problem = (key: string, message: string): Problem => ({ field: `executor_config.${key}`, message });

export function parseGrpcConfig(config: Record<string, string>): GrpcJobConfig | Problem {
  const url = (config.url ?? '').trim();
  if (url === '') return problem('url', 'url is required for the grpc executor');
  // grpcurl accepts both `pkg.Service/Method` and `pkg.Service.Method`.
  const m = /^([^/\s]+)\/((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)[/.]([A-Za-z_]\w*)$/.exec(url);
  if (!m) return problem('url', `url must look like "host:port/package.Service/Method", got "${url}"`);
  const address = m[1] as string;
  if (!/^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):\d{1,5}$/.test(address)) {
    return problem('url', `url must start with host:port, got "${address}"`);
  }

  let body: unknown = {};
  const rawBody = (config.body ?? '').trim();
  if (rawBody !== '') {
    try {
      body = JSON.parse(rawBody);
    } catch (err) {
      return problem('body', `body must be JSON: ${(err as Error).message}`);
    }
  }

  const headers = parseHeaderList(config.headers, 'headers');
  if (!Array.isArray(headers)) return headers;
  const metadata: Array<[string, string]> = [];
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    if (!/^[0-9a-z_.-]+$/.test(key) || key.startsWith('grpc-')) {
      return problem('headers', `"${name}" is not a valid gRPC metadata key`);
    }
    if (key.endsWith('-bin') && !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
      return problem('headers', `"${name}" is a binary (-bin) key: its value must be base64`);
    }
    metadata.push([key, value]);
  }

  const timeoutMs = parseTimeoutSeconds(config.timeout, DEFAULT_TIMEOUT_MS, { allowZero: false });
  if (typeof timeoutMs !== 'number') return timeoutMs;

  const rawCode = (config.expectCode ?? '').trim();
  let expectCode = 0;
  if (rawCode !== '') {
    if (!/^\d+$/.test(rawCode) || Number(rawCode) > MAX_STATUS) {
      return problem('expectCode', `expectCode must be a gRPC status code from 0 to ${MAX_STATUS}, got "${rawCode}"`);
    }
    expectCode = Number(rawCode);
  }

  const flag = (key: string): boolean | Problem => {
    const raw = (config[key] ?? '').trim();
    if (raw === '' || raw === 'false') return false;
    if (raw === 'true') return true;
    return problem(key, `${key} must be "true" or "false", got "${raw}"`);
  };
  const tlsFlag = flag('tls');
  if (typeof tlsFlag !== 'boolean') return tlsFlag;
  const noVerifyPeer = flag('tlsNoVerifyPeer');
  if (typeof noVerifyPeer !== 'boolean') return noVerifyPeer;
  const caFile = (config.tlsRootCAsFile ?? '').trim();

  return {
    address,
    service: m[2] as string,
    method: m[3] as string,
    body,
    metadata,
    timeoutMs,
    expectCode,
    // Either TLS option only makes sense over TLS, so it turns TLS on.
    tls: { enabled: tlsFlag || noVerifyPeer || caFile !== '', caFile, noVerifyPeer },
  };
}
