/** Reads a Server-Sent Events response (the execution stream) event by event, with arrival times. */
import { takeSseEvents } from '../../src/api/wire.js';

export interface SseEvent {
  event: string;
  data: unknown;
  at: number;
}

export async function readSse(url: string, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<{ status: number; events: SseEvent[] }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  const events: SseEvent[] = [];
  if (!res.ok || !res.body) return { status: res.status, events };
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of res.body) {
    const taken = takeSseEvents(pending + decoder.decode(chunk as Uint8Array, { stream: true }));
    pending = taken.rest;
    const at = Date.now();
    for (const e of taken.events) events.push({ ...e, at });
  }
  return { status: res.status, events };
}

/** The output events' text, joined. */
export function streamedText(events: SseEvent[]): string {
  return events.filter((e) => e.event === 'output').map((e) => (e.data as { text: string }).text).join('');
}
