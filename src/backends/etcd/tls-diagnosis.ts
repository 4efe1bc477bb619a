/**
 * Why a TLS connection to an etcd member failed. gRPC only says "No connection
 * established"; the store asks this module, which shakes hands itself, and adds
 * the reason to the error it reports.
 */
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** The client TLS settings of the etcd store (see EtcdStoreOptions.tls). */
export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** How gRPC reports a connection that failed in or before the TLS handshake, without saying why. */
export const BARE_CONNECT_FAILURE = /No connection established\. Last error: (null|Error: Client network socket disconnected before secure TLS)/;

/**
 * gRPC reports a failed TLS handshake (or TLS on one side only) as a bare
 * "UNAVAILABLE: No connection established. Last error: null". A handshake of
 * our own with the member says why; null when it has nothing to add (the
 * member is down or unreachable, or TLS is fine and the trouble is elsewhere).
 */
export async function explainConnectFailure(hostUrl: string, tls: ClientTls | undefined, timeoutMs: number): Promise<string | null> {
  let host: string;
  let port: number;
  try {
    const url = new URL(hostUrl);
    host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    port = Number(url.port || 2379);
  } catch {
    return null;
  }
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const speaksTls = `${where} speaks TLS but this client connects without it: configure the CA of etcd's certificate (and a client certificate if etcd asks for one)`;
  return new Promise((resolve) => {
    let connected = false;
    const socket = tlsConnect({
      host,
      port,
      ...(isIP(host) ? {} : { servername: host }),
      ...(tls?.ca ? { ca: tls.ca } : {}),
      ...(tls?.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
      rejectUnauthorized: tls !== undefined,
      ALPNProtocols: ['h2'],
      // In TLS 1.2 a refused client certificate fails the handshake itself; 1.3 reports it only afterwards.
      maxVersion: 'TLSv1.2',
    });
    const timer = setTimeout(() => done(null), timeoutMs);
    function done(hint: string | null): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(hint);
    }
    socket.once('connect', () => (connected = true));
    socket.once('secureConnect', () => done(tls ? null : speaksTls));
    socket.once('error', (err: NodeJS.ErrnoException & { reason?: string }) => {
      if (!connected) return done(null);
      const code = err.code ?? '';
      const notTls = code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || code === 'ECONNRESET';
      if (!tls) return done(code.startsWith('ERR_SSL_') && !notTls ? speaksTls : null);
      if (notTls) return done(`${where} does not speak TLS (a plain http member?) but this client is set up for TLS`);
      if (code === 'ERR_SSL_UNSUPPORTED_PROTOCOL' || code === 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION') return done(null);
      let why = '';
      if (/ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|UNKNOWN_CA)/.test(code)) {
        why = ": etcd refused this client's certificate (none given, or not signed by a CA etcd trusts)";
      } else if (/^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?)$/.test(code)) {
        why = ": the configured CA did not sign etcd's certificate";
      } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
        why = `: etcd's certificate is not valid for ${host}`;
      }
      done(`TLS handshake with ${where} failed: ${err.reason ?? err.message}${why}`);
    });
  });
}
