/** Reads a Server-Sent Events response (the execution stream) event by event, with arrival times. */
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
    pending += decoder.decode(chunk as Uint8Array, { stream: true });
    let cut: number;
    while ((cut = pending.indexOf('\n\n')) >= 0) {
      const block = pending.slice(0, cut);
      pending = pending.slice(cut + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data !== undefined) events.push({ event, data: JSON.parse(data) as unknown, at: Date.now() });
    }
  }
  return { status: res.status, events };
}

/** The output events' text, joined. */
export function streamedText(events: SseEvent[]): string {
  return events.filter((e) => e.event === 'output').map((e) => (e.data as { text: string }).text).join('');
}
