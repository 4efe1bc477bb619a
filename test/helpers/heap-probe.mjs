/* global setInterval */
/**
 * Preloaded into an agent (NODE_OPTIONS="--import <this file>") by the soak
 * test: every 10 s, force a full GC and log the live heap, so a leak shows as
 * a rising `heapUsed` rather than being lost in RSS noise (allocator arenas,
 * young-generation sizing). Diagnostics only; never loaded in production.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const MiB = 1024 * 1024;
// The agent's spawner processes (--spawners) inherit NODE_OPTIONS; only the agent reports.
const inSpawner = process.argv.some((a) => a.includes('spawner-main'));
if (!inSpawner) setInterval(() => {
  gc();
  const m = process.memoryUsage();
  process.stderr.write(
    `HEAPPROBE heapUsed=${(m.heapUsed / MiB).toFixed(1)} rss=${(m.rss / MiB).toFixed(1)} external=${(m.external / MiB).toFixed(1)}\n`,
  );
}, 10_000).unref();
