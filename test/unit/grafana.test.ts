import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EventBus } from '../../src/events/bus.js';
import { PrometheusMetrics } from '../../src/metrics/prometheus.js';

test('the Grafana dashboard graphs only metrics Kairos exports, and every panel has a query', async () => {
  const dash = JSON.parse(readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  const metrics = new PrometheusMetrics(new EventBus(), { isLeader: () => true, members: async () => 1, running: () => 0, queued: () => 0, notifyQueueDepth: () => 0 }, 'n');
  const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  metrics.close();
  assert.ok(dash.panels.length >= 10);
  for (const p of dash.panels) {
    assert.ok(p.targets.length > 0, p.title);
    for (const t of p.targets) {
      for (const name of t.expr.match(/\b(kairos|process)_[a-z_]+/g) ?? []) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        assert.ok(exported.has(base), `${p.title}: ${name} is not exported`);
      }
    }
  }
});
