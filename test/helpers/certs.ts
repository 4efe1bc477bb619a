/**
 * Throwaway certificates for TLS tests, made with the system's `openssl`:
 * a CA, a server certificate for 127.0.0.1/localhost, a client certificate
 * signed by that CA, and an unrelated second CA with its own client
 * certificate (to prove a certificate from the wrong CA is refused).
 * EC P-256 keys keep generation fast.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  /** The CA that signed serverCert and clientCert. */
  ca: string;
  caKey: string;
  /** For 127.0.0.1 and localhost (serverAuth). */
  serverCert: string;
  serverKey: string;
  /** Signed by `ca` (clientAuth). */
  clientCert: string;
  clientKey: string;
  /** A CA unrelated to `ca`, and a client certificate it signed. */
  otherCa: string;
  otherClientCert: string;
  otherClientKey: string;
  remove(): void;
}

const CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = kairos-test
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`openssl ${args[0]}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
}

let serial = 1;

export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'kairos-certs-'));
  const cnf = join(dir, 'openssl.cnf');
  writeFileSync(cnf, CONFIG);
  const key = (name: string): string => {
    const path = join(dir, `${name}.key`);
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', path], dir);
    return path;
  };
  const ca = (name: string, cn: string): { cert: string; key: string } => {
    const k = key(name);
    const cert = join(dir, `${name}.crt`);
    openssl(['req', '-new', '-x509', '-config', cnf, '-extensions', 'ca_ext', '-key', k, '-subj', `/CN=${cn}`, '-days', '2', '-out', cert], dir);
    return { cert, key: k };
  };
  const leaf = (name: string, cn: string, ext: 'server_ext' | 'client_ext', issuer: { cert: string; key: string }): { cert: string; key: string } => {
    const k = key(name);
    const csr = join(dir, `${name}.csr`);
    const cert = join(dir, `${name}.crt`);
    openssl(['req', '-new', '-config', cnf, '-key', k, '-subj', `/CN=${cn}`, '-out', csr], dir);
    openssl(
      ['x509', '-req', '-in', csr, '-CA', issuer.cert, '-CAkey', issuer.key, '-set_serial', String(serial++), '-days', '2', '-extfile', cnf, '-extensions', ext, '-out', cert],
      dir,
    );
    return { cert, key: k };
  };

  const main = ca('ca', 'Kairos Test CA');
  const server = leaf('server', '127.0.0.1', 'server_ext', main);
  const client = leaf('client', 'kairos-test-client', 'client_ext', main);
  const other = ca('other-ca', 'Unrelated Test CA');
  const otherClient = leaf('other-client', 'kairos-test-client', 'client_ext', other);
  return {
    dir,
    ca: main.cert,
    caKey: main.key,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    otherCa: other.cert,
    otherClientCert: otherClient.cert,
    otherClientKey: otherClient.key,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
