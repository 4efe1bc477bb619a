/**
 * A loopback TCP proxy a harness puts between one backend and its server, so
 * ClusterHarness.sever can cut that backend's connection as a crash or a
 * partition would (closing a client is a goodbye: etcd3 keeps its lease
 * stream, ZooKeeper ends its session at once), and ClusterHarness.partition
 * can cut it for a while and let it back.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  /** host:port to give the backend instead of `target`. */
  readonly endpoint: string;
  /** Drops every connection and refuses new ones, for good. */
  sever(): Promise<void>;
  /**
   * Drops every connection and refuses new ones until heal(): the listener stays,
   * so the port is not reused meanwhile, and a connection it accepts is destroyed
   * at once (the client sees a reset, as against a partitioned server).
   */
  cut(): void;
  /** Accepts connections again after cut(). */
  heal(): void;
}

export async function tcpProxy(target: string): Promise<TcpProxy> {
  const colon = target.lastIndexOf(':');
  const host = target.slice(0, colon).replace(/^\w+:\/\//, '');
  const port = Number(target.slice(colon + 1));
  const sockets = new Set<Socket>();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) {
      client.on('error', () => undefined);
      client.destroy();
      return;
    }
    const upstream = connect(port, host);
    sockets.add(client);
    sockets.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const endpoint = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  let severed: Promise<void> | null = null;
  return {
    endpoint,
    sever: () => {
      refusing = true;
      severed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return severed;
    },
    cut: () => {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    heal: () => {
      if (severed === null) refusing = false;
    },
  };
}
