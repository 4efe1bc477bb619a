/**
 * TLS material from the PEM files named by options: the HTTPS options of the
 * API server (`--tls-cert`, `--tls-key`, `--tls-client-ca`) and the client TLS
 * and credentials of a backend (`--backend-tls-*`, `--backend-username`).
 * Files are read and checked once, at start: one that can't be read, isn't
 * PEM, or a key that doesn't belong to its certificate fails with an Error
 * naming the option and the path, instead of an OpenSSL message later.
 *
 * Used by the agent (HTTPS) and by the backends (etcd's client TLS); it sits in
 * util so neither imports the other's layer. HttpsFiles mirrors
 * SecurityConfig['tls'] of agent/config.ts; backends/types.ts names
 * BackendAuthFiles as BackendAuthConfig.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:https';

export interface HttpsFiles {
  cert: string;
  key: string;
  /** When set, clients must present a certificate signed by this CA. */
  clientCa: string | null;
}

export interface BackendAuthFiles {
  tlsCa: string | null;
  tlsCert: string | null;
  tlsKey: string | null;
  username: string | null;
  password: string | null;
}

/** What EtcdStore.connect takes besides endpoints and keyspace. */
export interface BackendTls {
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  auth?: { username: string; password: string };
}

function reason(err: unknown): string {
  // "ENOENT: no such file or directory, open '/x'": the path is already in our message.
  return (err instanceof Error ? err.message : String(err)).replace(/, \w+ '.*'$/s, '');
}

/** The bytes of a file named by `--<option>`; the error names both. */
export function readOptionFile(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`option ${option}: cannot read ${path}: ${reason(err)}`, { cause: err });
  }
}

/** A PEM file holding one certificate or more (a CA bundle); returns the bytes and the first one. */
function readCertificates(option: string, path: string): { pem: Buffer; first: X509Certificate } {
  const pem = readOptionFile(option, path);
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`option ${option}: ${path} holds no PEM certificate`);
  try {
    return { pem, first: new X509Certificate(pem) };
  } catch (err) {
    throw new Error(`option ${option}: ${path} is not a valid PEM certificate: ${reason(err)}`, { cause: err });
  }
}

function readPrivateKey(option: string, path: string): { pem: Buffer; key: KeyObject } {
  const pem = readOptionFile(option, path);
  try {
    return { pem, key: createPrivateKey(pem) };
  } catch (err) {
    throw new Error(`option ${option}: ${path} is not a usable PEM private key (unencrypted): ${reason(err)}`, { cause: err });
  }
}

/** A certificate and its key, checked to belong together. */
function readKeyPair(certOption: string, certPath: string, keyOption: string, keyPath: string): { cert: Buffer; key: Buffer } {
  const cert = readCertificates(certOption, certPath);
  const key = readPrivateKey(keyOption, keyPath);
  if (!cert.first.checkPrivateKey(key.key)) {
    throw new Error(`option ${keyOption}: ${keyPath} is not the private key of the certificate in ${certPath} (--${certOption})`);
  }
  return { cert: cert.pem, key: key.pem };
}

/**
 * HTTPS options for the API server (node:https / fastify's `https`), or null
 * without TLS. With a client CA, a client must present a certificate that CA
 * signed, or the TLS handshake fails.
 */
export function loadHttpsOptions(tls: HttpsFiles | null): ServerOptions | null {
  if (tls === null) return null;
  const { cert, key } = readKeyPair('tls-cert', tls.cert, 'tls-key', tls.key);
  const options: ServerOptions = { cert, key };
  if (tls.clientCa !== null) {
    options.ca = readCertificates('tls-client-ca', tls.clientCa).pem;
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  return options;
}

/** Client TLS and credentials for the etcd backend; empty when none is configured. */
export function loadBackendTls(auth: BackendAuthFiles): BackendTls {
  const out: BackendTls = {};
  if (auth.tlsCa !== null || auth.tlsCert !== null || auth.tlsKey !== null) {
    const tls: NonNullable<BackendTls['tls']> = {};
    if (auth.tlsCa !== null) tls.ca = readCertificates('backend-tls-ca', auth.tlsCa).pem;
    if (auth.tlsCert !== null || auth.tlsKey !== null) {
      if (auth.tlsCert === null || auth.tlsKey === null) {
        throw new Error('option backend-tls-cert: --backend-tls-cert and --backend-tls-key go together');
      }
      Object.assign(tls, readKeyPair('backend-tls-cert', auth.tlsCert, 'backend-tls-key', auth.tlsKey));
    }
    out.tls = tls;
  }
  if (auth.username !== null || auth.password !== null) {
    if (auth.username === null || auth.password === null) {
      throw new Error('option backend-username: --backend-username and --backend-password go together');
    }
    out.auth = { username: auth.username, password: auth.password };
  }
  return out;
}
