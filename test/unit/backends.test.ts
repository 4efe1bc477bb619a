/**
 * The backend boundary: backends are found by name, and a backend's client
 * code loads only when it is chosen (a single-node agent never pays for etcd3
 * and its gRPC stack).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { ROOT, removeDir, tempDir } from '../helpers/agent.js';
import { findBackend } from '../../src/backends/catalog.js';

const dir = tempDir('backends');
after(() => removeDir(dir));

test('backends are found by name or alias; unknown names are not', () => {
  assert.equal(findBackend('embedded')?.name, 'embedded');
  assert.equal(findBackend('etcdv3')?.name, 'etcd');
  assert.equal(findBackend('consul'), undefined);
});

test('an embedded agent starts without loading any cluster backend client', async () => {
  // A child process, so modules this test runner already loaded don't count.
  const script = `
    import { createRequire } from 'node:module';
    import { Agent } from './dist/agent/agent.js';
    import { resolveConfig } from './dist/agent/config.js';
    import { silentLogger } from './dist/util/log.js';
    const agent = await Agent.open(resolveConfig({ 'data-dir': process.argv[1], 'http-addr': '127.0.0.1:0', server: true }, {}), silentLogger());
    await agent.start();
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => /node_modules\\/(etcd3|@grpc|node-zookeeper-client)\\//.test(f));
    await agent.stop();
    console.log(JSON.stringify(loaded));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, join(dir, 'data')], { cwd: ROOT });
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').pop() ?? 'null'), []);
});
