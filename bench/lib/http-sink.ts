/**
 * A local HTTP server for jobs of the `http` executor: answers 200 at once (no work, so the
 * figure is Kairos' own cost per execution) and counts the requests per path, so the bench can
 * check that every recorded execution reached it exactly once.
 */
import { createServer, type Server } from 'node:http';

export interface HttpSink {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Requests seen per path (query string dropped). */
  counts: Map<string, number>;
  total(): number;
  close(): Promise<void>;
}

export async function startHttpSink(): Promise<HttpSink> {
  const counts = new Map<string, number>();
  let total = 0;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    counts.set(path, (counts.get(path) ?? 0) + 1);
    total++;
    // Drain the body (none expected) so a keep-alive connection can be reused.
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
  // Node closes an idle keep-alive connection after 5 s by default, and a client that reuses it just then
  // gets ECONNRESET (Node's http client does not retry, unlike Go's): a race of this server, not Kairos'
  // cost. Longer than the agents' idle socket timeout (60 s), so it is always the client that closes.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    total: () => total,
    close: () =>
      new Promise<void>((resolve) => {
        // Idle keep-alive sockets of the agents would hold close() open until they time out.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
