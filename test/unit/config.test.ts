/**
 * Agent configuration: flags, config file (JSON/YAML), KAIROS_* / DKRON_*
 * environment and defaults, merged flags > file > env > defaults (README,
 * "Agent options"). The last tests run the real binary for the CLI wiring.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { ConfigError, normalizeArgv, parseHttpAddr, resolveConfig, type RawOptions } from '../../src/agent/config.js';
import { BIN, ROOT, removeDir, tempDir } from '../helpers/agent.js';

const dir = tempDir('kairos-config-');
after(() => removeDir(dir));

let fileSeq = 0;
function configFile(ext: 'json' | 'yaml' | 'yml', text: string): string {
  const path = join(dir, `kairos-${++fileSeq}.${ext}`);
  writeFileSync(path, text);
  return path;
}

function resolve(flags: RawOptions = {}, env: NodeJS.ProcessEnv = {}): ReturnType<typeof resolveConfig> {
  return resolveConfig(flags, env);
}

function assertConfigError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

describe('defaults', () => {
  test('a bare agent: loopback HTTP on 8080, embedded store, host name, 60 s shutdown', () => {
    const c = resolve();
    assert.deepEqual(c.httpAddr, { host: '127.0.0.1', port: 8080 });
    assert.equal(c.backend, 'embedded');
    assert.equal(c.server, false);
    assert.equal(c.nodeName, hostname());
    assert.equal(c.dataDir, 'kairos.data');
    assert.equal(c.shutdownTimeoutMs, 60_000);
    assert.equal(c.outputLimit, 256_000);
    assert.equal(c.historyLimit, 100);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.logFormat, 'text');
    assert.equal(c.ui, true);
    assert.deepEqual(c.tags, {});
    assert.deepEqual(c.backendMachines, []);
    assert.deepEqual(c.ignored, []);
  });

  test('etcd without machines defaults to the local etcd port', () => {
    assert.deepEqual(resolve({ backend: 'etcd' }).backendMachines, ['127.0.0.1:2379']);
  });
});

describe('normalizeArgv', () => {
  test("dkron's single-dash long flags become double-dash", () => {
    assert.deepEqual(normalizeArgv(['agent', '-server', '-tag=role=web', '-node-name', 'x', '-http-addr', ':8080']), [
      'agent',
      '--server',
      '--tag=role=web',
      '--node-name',
      'x',
      '--http-addr',
      ':8080',
    ]);
  });

  test('short flags, double-dash flags, values and negative durations are left alone', () => {
    const argv = ['-v', '-h', '--server', '--tag', 'a=b', 'x', '-1s', '--', '/tmp/file'];
    assert.deepEqual(normalizeArgv(argv), argv);
  });
});

describe('flags', () => {
  test('values are parsed into the config', () => {
    const c = resolve({
      server: true,
      'node-name': 'n1',
      'data-dir': '/var/lib/kairos',
      'http-addr': '127.0.0.2:9090',
      'shutdown-timeout': '1m30s',
      'output-limit': '1000',
      'history-limit': '7',
      'log-level': 'DEBUG',
      'log-format': 'json',
      backend: 'etcd',
      'backend-machine': ['127.0.0.1:2379,127.0.0.1:22379', '127.0.0.1:32379'],
    });
    assert.equal(c.server, true);
    assert.equal(c.nodeName, 'n1');
    assert.equal(c.dataDir, '/var/lib/kairos');
    assert.deepEqual(c.httpAddr, { host: '127.0.0.2', port: 9090 });
    assert.equal(c.shutdownTimeoutMs, 90_000);
    assert.equal(c.outputLimit, 1000);
    assert.equal(c.historyLimit, 7);
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.logFormat, 'json');
    assert.deepEqual(c.backendMachines, ['127.0.0.1:2379', '127.0.0.1:22379', '127.0.0.1:32379']);
  });

  test('repeated --tag collects every pair; a value may contain "="', () => {
    const c = resolve({ tag: ['role=web', 'dc=eu-1', 'expr=a=b'] });
    assert.deepEqual(c.tags, { role: 'web', dc: 'eu-1', expr: 'a=b' });
  });

  test('bool flags take an explicit value', () => {
    assert.equal(resolve({ server: 'false' }).server, false);
    assert.equal(resolve({ server: 'true' }).server, true);
    assert.equal(resolve({ ui: 'false' }).ui, false);
  });

  test('":8080" binds every interface, as in dkron; IPv6 hosts are bracketed', () => {
    assert.deepEqual(resolve({ 'http-addr': ':8080' }).httpAddr, { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(parseHttpAddr('[::1]:8081'), { host: '::1', port: 8081 });
    assert.deepEqual(parseHttpAddr('localhost:0'), { host: 'localhost', port: 0 });
  });

  test('ignored dkron flags are accepted and listed for a warning', () => {
    const c = resolve({ 'bind-addr': '0.0.0.0:8946', encrypt: 'abc', 'retry-join': ['x'] });
    assert.deepEqual(c.ignored.sort(), ['bind-addr', 'encrypt', 'retry-join']);
  });
});

describe('environment', () => {
  test('KAIROS_* variables, dashes as underscores; KAIROS_TAG is comma separated', () => {
    const c = resolve(
      {},
      {
        KAIROS_SERVER: 'true',
        KAIROS_NODE_NAME: 'env-node',
        KAIROS_DATA_DIR: '/env/data',
        KAIROS_TAG: 'a=b,c=d',
        KAIROS_SHUTDOWN_TIMEOUT: '5s',
        KAIROS_HTTP_ADDR: '127.0.0.1:8181',
      },
    );
    assert.equal(c.server, true);
    assert.equal(c.nodeName, 'env-node');
    assert.equal(c.dataDir, '/env/data');
    assert.deepEqual(c.tags, { a: 'b', c: 'd' });
    assert.equal(c.shutdownTimeoutMs, 5000);
    assert.deepEqual(c.httpAddr, { host: '127.0.0.1', port: 8181 });
  });

  test('DKRON_* is read as a fallback; KAIROS_* wins when both are set', () => {
    assert.equal(resolve({}, { DKRON_NODE_NAME: 'dk' }).nodeName, 'dk');
    assert.equal(resolve({}, { DKRON_DATA_DIR: '/dk', KAIROS_DATA_DIR: '/k' }).dataDir, '/k');
    assert.equal(resolve({}, { DKRON_SERVER: 'true' }).server, true);
  });

  test('an empty variable counts as unset (as viper does for dkron), so the fallback still applies', () => {
    assert.equal(resolve({}, { KAIROS_SERVER: '' }).server, false);
    assert.equal(resolve({}, { KAIROS_NODE_NAME: '', DKRON_NODE_NAME: 'dk' }).nodeName, 'dk');
    assert.deepEqual(resolve({}, { KAIROS_HTTP_ADDR: '' }).httpAddr, { host: '127.0.0.1', port: 8080 });
  });

  test('KAIROS_CONFIG names the config file', () => {
    const path = configFile('json', JSON.stringify({ node_name: 'from-file' }));
    assert.equal(resolve({}, { KAIROS_CONFIG: path }).nodeName, 'from-file');
  });
});

describe('config files', () => {
  test('JSON with underscore keys and a tags map', () => {
    const path = configFile(
      'json',
      JSON.stringify({
        server: true,
        node_name: 'json-node',
        data_dir: '/json/data',
        'http-addr': '127.0.0.1:7070',
        tags: { role: 'web', rack: 3 },
        backend_machine: ['127.0.0.1:2379'],
        history_limit: 12,
        shutdown_timeout: '250ms',
      }),
    );
    const c = resolve({ config: path });
    assert.equal(c.server, true);
    assert.equal(c.nodeName, 'json-node');
    assert.equal(c.dataDir, '/json/data');
    assert.deepEqual(c.httpAddr, { host: '127.0.0.1', port: 7070 });
    assert.deepEqual(c.tags, { role: 'web', rack: '3' });
    assert.deepEqual(c.backendMachines, ['127.0.0.1:2379']);
    assert.equal(c.historyLimit, 12);
    assert.equal(c.shutdownTimeoutMs, 250);
  });

  test('YAML in dkron style: dashed keys, tags map, lists', () => {
    const path = configFile(
      'yml',
      [
        'server: true',
        'node-name: yaml-node',
        'data_dir: /yaml/data',
        'log-level: warn',
        'tags:',
        '  role: db',
        '  zone: b',
        'backend-machine:',
        '  - 127.0.0.1:2379',
        '  - 127.0.0.1:2380',
        'bootstrap-expect: 3',
        '',
      ].join('\n'),
    );
    const c = resolve({ config: path });
    assert.equal(c.server, true);
    assert.equal(c.nodeName, 'yaml-node');
    assert.equal(c.dataDir, '/yaml/data');
    assert.equal(c.logLevel, 'warn');
    assert.deepEqual(c.tags, { role: 'db', zone: 'b' });
    assert.deepEqual(c.backendMachines, ['127.0.0.1:2379', '127.0.0.1:2380']);
    assert.deepEqual(c.ignored, ['bootstrap-expect']);
  });

  test('an empty YAML file is an empty config', () => {
    assert.equal(resolve({ config: configFile('yaml', '') }).backend, 'embedded');
  });

  test('a key left empty in YAML is unset: the environment and defaults still apply', () => {
    const path = configFile('yaml', 'node-name:\ndata-dir:\n');
    const c = resolve({ config: path }, { KAIROS_NODE_NAME: 'env-node' });
    assert.equal(c.nodeName, 'env-node');
    assert.equal(c.dataDir, 'kairos.data');
  });
});

describe('precedence: flags > config file > environment > defaults', () => {
  const file = (): string =>
    configFile('yaml', ['node-name: file-node', 'data-dir: /file/data', 'tags:', '  src: file', 'shutdown-timeout: 2s', ''].join('\n'));
  const env = { KAIROS_NODE_NAME: 'env-node', KAIROS_DATA_DIR: '/env/data', KAIROS_TAG: 'src=env', KAIROS_HTTP_ADDR: '127.0.0.1:9999', KAIROS_SHUTDOWN_TIMEOUT: '3s' };

  test('a flag beats the file and the environment', () => {
    const c = resolve({ config: file(), 'node-name': 'flag-node', tag: ['src=flag'] }, env);
    assert.equal(c.nodeName, 'flag-node');
    assert.deepEqual(c.tags, { src: 'flag' });
  });

  test('the file beats the environment', () => {
    const c = resolve({ config: file() }, env);
    assert.equal(c.nodeName, 'file-node');
    assert.equal(c.dataDir, '/file/data');
    assert.deepEqual(c.tags, { src: 'file' });
    assert.equal(c.shutdownTimeoutMs, 2000);
  });

  test('the environment beats the defaults where the file is silent', () => {
    const c = resolve({ config: file() }, env);
    assert.deepEqual(c.httpAddr, { host: '127.0.0.1', port: 9999 });
    assert.equal(c.backend, 'embedded');
  });
});

describe('bad values are ConfigErrors with clear messages', () => {
  test('an unavailable backend says so', () => {
    assertConfigError(() => resolve({ backend: 'consul' }), /backend "consul".*Consul is not supported/);
    assertConfigError(() => resolve({ backend: 'nope' }), /option backend: unknown backend "nope"/);
  });

  test("dkron's backend name etcdv3 is etcd", () => {
    assert.equal(resolve({ backend: 'etcdv3' }).backend, 'etcd');
    assert.deepEqual(resolve({ backend: 'etcdv3' }).backendMachines, ['127.0.0.1:2379']);
  });

  test('a bad duration names the option', () => {
    assertConfigError(() => resolve({ 'shutdown-timeout': 'soon' }), /option shutdown-timeout: invalid duration "soon"/);
    assertConfigError(() => resolve({ 'shutdown-timeout': '10' }), /option shutdown-timeout: missing unit/);
    assertConfigError(() => resolve({ 'shutdown-timeout': '-1s' }), /option shutdown-timeout: must not be negative/);
  });

  test('a tag without "=" or without a key', () => {
    assertConfigError(() => resolve({ tag: ['role'] }), /option tag: expected key=value, got "role"/);
    assertConfigError(() => resolve({ tag: ['=web'] }), /option tag: expected key=value, got "=web"/);
    assertConfigError(() => resolve({}, { KAIROS_TAG: 'a=b,oops' }), /got "oops"/);
  });

  test('an unknown config file key, an unreadable or unparsable file', () => {
    assertConfigError(() => resolve({ config: configFile('yaml', 'server: true\nbogus_key: 1\n') }), /unknown option "bogus_key"/);
    assertConfigError(() => resolve({ config: join(dir, 'missing.yaml') }), /cannot read config file .*missing\.yaml/);
    assertConfigError(() => resolve({ config: configFile('json', '{"server": tru') }), /cannot parse config file/);
    assertConfigError(() => resolve({ config: configFile('yaml', '- a\n- b\n') }), /must hold a map of options/);
  });

  test('numbers, bools, addresses and log settings', () => {
    assertConfigError(() => resolve({ 'output-limit': 'lots' }), /option output-limit: expected a whole number >= 0, got "lots"/);
    assertConfigError(() => resolve({ 'history-limit': '-3' }), /option history-limit/);
    assertConfigError(() => resolve({ server: 'maybe' }), /option server: expected true or false, got "maybe"/);
    assertConfigError(() => resolve({ 'http-addr': '8080' }), /option http-addr: expected host:port, got "8080"/);
    assertConfigError(() => resolve({ 'http-addr': '127.0.0.1:70000' }), /port 70000 out of range/);
    assertConfigError(() => resolve({ 'log-format': 'xml' }), /option log-format: expected text or json, got "xml"/);
    assertConfigError(() => resolve({ 'log-level': 'loud' }), /option log-level: .*got "loud"/);
  });
});

describe('the binary', () => {
  interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
  }
  function run(args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 20_000): Promise<Run> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`kairos ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr:\n${stderr}`));
      }, timeoutMs);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolvePromise({ code, stdout, stderr });
      });
    });
  }

  test('a config error exits 2 with the message on stderr, before starting anything', async () => {
    const dataDir = join(dir, 'never-created');
    const r = await run(['agent', '--backend', 'nope', '--data-dir', dataDir, '--http-addr', '127.0.0.1:0']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), 'kairos: option backend: unknown backend "nope"; the supported backends are embedded, etcd, zookeeper');
    assert.equal(r.stdout, '');
    const consul = await run(['agent', '-backend=consul', '--data-dir', dataDir, '--http-addr', '127.0.0.1:0']);
    assert.equal(consul.code, 2);
    assert.match(consul.stderr, /^kairos: option backend: unknown backend "consul" \(Consul is not supported: there is no Consul server to test it against; see docs\/backends.md\); the supported backends are embedded, etcd, zookeeper\n$/);
  });

  test('version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await run(['version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `Kairos ${version}\n`);
  });

  test('single-dash flags, "=" values and repeated tags reach the agent', async () => {
    const dataDir = join(dir, 'cli-agent');
    const child = spawn(
      process.execPath,
      [BIN, 'agent', '-server', '-node-name', 'cli-node', '-tag=role=web', '--tag', 'dc=eu', '-http-addr=127.0.0.1:0', '-data-dir', dataDir, '-log-format', 'json'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      // JSON logs: the start line carries the resolved settings; wait for the HTTP line (the agent is up).
      await new Promise<void>((res, reject) => {
        const timer = setTimeout(() => reject(new Error(`agent did not start; stderr:\n${stderr}`)), 20_000);
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (/HTTP server listening/.test(stderr)) {
            clearTimeout(timer);
            res();
          }
        });
        void exited.then((code) => reject(new Error(`agent exited ${code}; stderr:\n${stderr}`)));
      });
      const start = stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => /Starting Kairos agent/.test(String(l.msg)));
      assert.ok(start, `no start line in:\n${stderr}`);
      assert.equal(start.node, 'cli-node');
      assert.equal(start.server, true);
      assert.deepEqual(start.tags, { role: 'web', dc: 'eu' });
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    }
  });
});

describe('notification and metrics options', () => {
  test('defaults: failure notices, no skip notices, Prometheus on, nothing else', () => {
    const c = resolveConfig({}, {});
    assert.equal(c.notify.notifyOn, 'failure');
    assert.equal(c.notify.notifySkip, false);
    assert.equal(c.notify.webhook, null);
    assert.equal(c.notify.mail, null);
    assert.equal(c.metrics.prometheus, true);
    assert.equal(c.metrics.statsdAddr, null);
  });

  test('dkron 0.9 webhook names map onto the new ones; mail needs a host and a port', () => {
    const c = resolveConfig({ 'webhook-url': 'http://127.0.0.1:9/x', 'webhook-header': ['A: b'], 'webhook-payload': '{{.Report}}', 'mail-host': 'smtp', 'mail-port': '25' }, {});
    assert.deepEqual(c.notify.webhook, { endpoint: 'http://127.0.0.1:9/x', payload: '{{.Report}}', headers: ['A: b'] });
    assert.equal(c.notify.mail?.subjectPrefix, '[Kairos]');
    const h = resolveConfig({ 'webhook-endpoint': 'http://x/', 'webhook-headers': ['Accept: a, b', 'X: y'] }, {});
    assert.deepEqual(h.notify.webhook?.headers, ['Accept: a, b', 'X: y']);
  });

  test('bad values are refused at start, naming the option and the construct', () => {
    assert.throws(() => resolveConfig({ 'notify-on': 'sometimes' }, {}), (e: Error) => e instanceof ConfigError && /notify-on/.test(e.message));
    assert.throws(
      () => resolveConfig({ 'webhook-endpoint': 'http://x/', 'webhook-payload': '{{range .Output}}{{end}}' }, {}),
      (e: Error) => e instanceof ConfigError && /option webhook-payload: unsupported template construct "range"/.test(e.message),
    );
    assert.throws(() => resolveConfig({ 'dog-statsd-addr': 'nohost' }, {}), /dog-statsd-addr: expected host:port/);
  });
});
