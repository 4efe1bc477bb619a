/** The bench's SVG chart writer (bench/lib/svg.ts) and the charts drawn from a results object. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { barChart, escapeXml, formatValue, lineChart, linearTicks, logTicks } from '../../bench/lib/svg.js';
import { renderCharts, type ChartInput } from '../../bench/lib/charts.js';

/**
 * A small well-formedness check (no XML parser in node_modules): one root element, every tag
 * closed in order, attributes quoted, no raw `<` or stray `&` in text or attribute values.
 */
function assertWellFormed(xml: string): void {
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/y;
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  const checkText = (s: string, where: string): void => {
    assert.ok(!/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(s), `stray & in ${where}: ${s}`);
  };
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const chunk = lt === -1 ? xml.slice(i) : xml.slice(i, lt);
    if (stack.length === 0) assert.match(chunk, /^\s*$/, 'text outside the root element');
    checkText(chunk, 'text');
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    assert.ok(m, `malformed tag at ${lt}: ${xml.slice(lt, lt + 60)}`);
    const [whole, close, name, attrs, selfClose] = m;
    for (const a of (attrs ?? '').matchAll(/="([^"]*)"/g)) checkText(a[1] ?? '', `attribute of <${name}>`);
    if (close) {
      assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    } else {
      if (stack.length === 0) roots++;
      if (!selfClose) stack.push(name ?? '');
    }
    i = lt + whole.length;
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1, 'exactly one root element');
}

const barWidths = (svg: string): number[] =>
  [...svg.matchAll(/<rect class="bar" [^>]*width="([\d.]+)"/g)].map((m) => Number(m[1]));

test('the checker itself rejects broken XML', () => {
  assertWellFormed('<svg><g a="1"><text>x &amp; y</text></g><rect/></svg>');
  assert.throws(() => assertWellFormed('<svg><g></svg>'));
  assert.throws(() => assertWellFormed('<svg><text>a & b</text></svg>'));
  assert.throws(() => assertWellFormed('<svg><text a=1>x</text></svg>'));
  assert.throws(() => assertWellFormed('<svg/><svg/>'));
});

test('text is escaped everywhere: title, labels, legend, tooltips', () => {
  assert.equal(escapeXml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(escapeXml('a\u0000b\u001bc'), 'abc', 'characters XML 1.0 forbids are dropped');
  const evil = `<script>alert("x")</script> & 'co'`;
  const svg = barChart({
    title: evil,
    subtitle: evil,
    axisLabel: evil,
    unit: ' <ms>',
    series: [{ name: evil }, { name: 'b' }],
    groups: [{ label: evil, values: [1, 2] }],
  });
  assertWellFormed(svg);
  assert.ok(!svg.includes('<script'), 'no raw markup from the input');
  assert.ok(svg.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;'));
  assert.ok(svg.includes('1 &lt;ms&gt;'));
  const line = lineChart({ title: evil, xLabel: evil, yLabel: evil, series: [{ name: evil, points: [{ x: 1, y: 1 }, { x: 2, y: 3 }] }] });
  assertWellFormed(line);
  assert.ok(!line.includes('<script'));
});

test("bars' widths are proportional to their values, on one scale for all groups", () => {
  const svg = barChart({
    title: 't',
    axisLabel: 'ms',
    series: [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
    groups: [
      { label: 'p50', values: [10, 20, 40] },
      { label: 'max', values: [80, 5, 0] },
    ],
  });
  assertWellFormed(svg);
  const w = barWidths(svg);
  assert.equal(w.length, 6);
  const unit = (w[3] ?? 0) / 80;
  assert.ok(unit > 0);
  [10, 20, 40, 80, 5, 0].forEach((v, i) => assert.ok(Math.abs((w[i] ?? -1) - v * unit) <= 0.15, `bar ${i}: ${w[i]} for ${v}`));
  for (const v of ['10', '20', '40', '80', '5', '0']) assert.ok(svg.includes(`>${v}</text>`), `value label ${v}`);
});

test('missing, null and NaN values draw no bar and a marker instead; nothing says NaN', () => {
  const svg = barChart({
    title: 't',
    axisLabel: 'ms',
    series: [{ name: 'a' }, { name: 'b' }],
    groups: [
      { label: 'g1', values: [Number.NaN, 4] },
      { label: 'g2', values: [null, undefined] },
      { label: 'g3', values: [Number.POSITIVE_INFINITY] },
    ],
  });
  assertWellFormed(svg);
  assert.deepEqual(barWidths(svg).length, 1);
  assert.equal(svg.match(/>n\/a</g)?.length, 5, 'g3 has no value for b either');
  assert.ok(!/NaN|Infinity|undefined|null/.test(svg));

  const empty = barChart({ title: 'nothing', axisLabel: 'ms', missing: '—', series: [{ name: 'a' }], groups: [{ label: 'g', values: [Number.NaN] }] });
  assertWellFormed(empty);
  assert.ok(!/NaN|Infinity/.test(empty));
  assert.equal(barWidths(empty).length, 0);
  assertWellFormed(barChart({ title: 'no groups', axisLabel: 'x', series: [], groups: [] }));
});

test('line chart: log x axis, missing points break the line, no NaN', () => {
  const svg = lineChart({
    title: 'scale',
    xLabel: 'jobs',
    yLabel: 'MiB',
    logX: true,
    series: [
      { name: 'rss', points: [{ x: 1000, y: 60 }, { x: 10_000, y: 70 }, { x: 100_000, y: Number.NaN }, { x: 1_000_000, y: 900 }] },
      { name: 'other', points: [{ x: 0, y: 1 }, { x: 1000, y: null }] },
    ],
  });
  assertWellFormed(svg);
  assert.ok(!/NaN|Infinity/.test(svg));
  for (const t of ['1k', '10k', '100k', '1M']) assert.ok(svg.includes(`>${t}</text>`), `tick ${t}`);
  assert.equal(svg.match(/<polyline [^>]*stroke-width="2"/g)?.length, 1, 'one segment: 1k–10k; 1M stands alone');
  assert.equal(svg.match(/<circle /g)?.length, 3);
  // Log scale: 1k → 10k spans the same width as 10k → 100k.
  const xs = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.ok(Math.abs((xs[1] ?? 0) - (xs[0] ?? 0) - ((xs[2] ?? 0) - (xs[1] ?? 0)) / 2) < 0.2);
  assertWellFormed(lineChart({ title: 'empty', xLabel: 'x', yLabel: 'y', logX: true, logY: true, series: [] }));
});

test('ticks and number formatting', () => {
  assert.deepEqual(linearTicks(0, 1090), [0, 500, 1000, 1500]);
  assert.deepEqual(linearTicks(0, 0.3), [0, 0.1, 0.2, 0.3]);
  assert.deepEqual(linearTicks(0, 0), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(logTicks(1000, 1_000_000), [1000, 10_000, 100_000, 1_000_000]);
  assert.deepEqual(logTicks(5, 5), [1, 10]);
  assert.equal(formatValue(1090.05), '1090');
  assert.equal(formatValue(18.99), '18.99');
  assert.equal(formatValue(225.833), '225.8');
  assert.equal(formatValue(12_345.6), '12346');
  assert.equal(formatValue(20.1), '20.1');
  assert.equal(formatValue(0.1254), '0.125');
});

test('output is deterministic', () => {
  const spec = { title: 't', axisLabel: 'a', series: [{ name: 's' }], groups: [{ label: 'g', values: [Math.PI] }] };
  assert.equal(barChart(spec), barChart(spec));
});

test('charts exist for the scenarios present, values from JSON may be null', () => {
  const s = (p50: number | null, max: number | null) => ({ n: 5, min: 1, mean: 2, p50, p99: max, max }) as never;
  const cluster = (backend: 'etcd' | 'zookeeper') =>
    ({
      backend,
      servers: { members: 3, version: '3.5' },
      agents: { servers: ['a', 'b'], worker: 'w', leaseTtlSeconds: 5 },
      lateness: { jobs: 20, seconds: 60, cluster: { start: s(12, 40) }, embedded: null, reference: { start: s(3, 9) }, referenceFrom: 'etcd scenario' },
      failover: { kills: [{}, {}], election: s(5000, null), dispatch: s(5200, 6000) },
    }) as never;
  assert.deepEqual(renderCharts({}), []);
  const r: ChartInput = { etcd: cluster('etcd'), zookeeper: cluster('zookeeper') };
  const charts = renderCharts(r);
  assert.deepEqual(charts.map((c) => c.name), ['lateness', 'failover']);
  for (const c of charts) {
    assertWellFormed(c.svg);
    assert.ok(!/NaN|null/.test(c.svg), c.name);
  }
  const lateness = charts[0]?.svg ?? '';
  assert.ok(lateness.includes('etcd cluster') && lateness.includes('ZooKeeper cluster') && lateness.includes('reference'));
  assert.ok(!lateness.includes('single agent'), 'the single agent did not run');
});
