/** One POST of a notification; a non-2xx answer is a failed attempt (dkron only logs it). */
export async function post(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<void> {
  const res = await fetch(url, { method: 'POST', body, headers, signal, redirect: 'manual' });
  const text = await res.text().catch(() => '');
  if (res.status < 200 || res.status >= 300) {
    throw new Error(`HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
  }
}

/** A URL as shown in records and logs: scheme, host and path start only (webhook paths often hold secrets). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const first = u.pathname.split('/').filter(Boolean)[0];
    return `${u.protocol}//${u.host}${first ? `/${first}/…` : '/'}`;
  } catch {
    return 'invalid URL';
  }
}

/**
 * dkron's `Name: value` header entries. dkron splits on every ':' (so values
 * holding ':' are cut); Kairos splits on the first one only.
 */
export function parseHeaders(entries: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of entries) {
    const i = h.indexOf(':');
    if (i <= 0) continue;
    out[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  return out;
}
