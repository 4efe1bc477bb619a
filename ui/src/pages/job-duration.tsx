/** How long the recent runs took (uPlot): a line through the successes, failures as red points. */
import type { JSX } from 'preact';
import { useMemo } from 'preact/hooks';
import { Chart, themedAxis, type ChartData, type ChartOptions, type ColorOf } from '../components/chart.js';
import { duration } from '../components/common.js';
import type { Recent } from './job.js';
import { isRunning, runMs } from './job-util.js';

const fmt = (seconds: number | null | undefined): string => (seconds === null || seconds === undefined ? '—' : duration(seconds * 1000));

/**
 * From the data itself: for a single run uPlot's own guess spans years (it pads by 86400 / ms),
 * so runs that close together get an hour each side.
 */
function xRange(u: { data: ChartData }): [number, number] {
  const xs = u.data[0] as number[];
  const min = xs[0] ?? 0;
  const max = xs[xs.length - 1] ?? 0;
  return max - min < 60 ? [min - 3600, max + 3600] : [min, max];
}

function options(color: ColorOf): ChartOptions {
  const axis = themedAxis(color);
  return {
    scales: { x: { time: true, range: xRange }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
    axes: [axis, { ...axis, size: 60, values: (_u, ticks) => ticks.map((t) => fmt(t)) }],
    cursor: { points: { size: 8 } },
    series: [
      {},
      { label: 'Succeeded', stroke: color('--ok'), width: 1.5, spanGaps: true, points: { show: true, size: 6, fill: color('--ok') }, value: (_u, v) => fmt(v) },
      { label: 'Failed', stroke: color('--bad'), width: 0, paths: () => null, points: { show: true, size: 8, fill: color('--bad') }, value: (_u, v) => fmt(v) },
    ],
  };
}

export function DurationChart({ recent }: { recent: Recent | null }): JSX.Element | null {
  const model = useMemo(() => {
    const done = (recent?.executions ?? []).filter((e) => !isRunning(e)).sort((a, b) => a.started_at.localeCompare(b.started_at));
    const xs: number[] = [];
    const ok: (number | null)[] = [];
    const bad: (number | null)[] = [];
    for (const e of done) {
      const s = runMs(e) / 1000;
      if (!Number.isFinite(s)) continue;
      xs.push(Date.parse(e.started_at) / 1000);
      ok.push(e.success ? s : null);
      bad.push(e.success ? null : s);
    }
    const all = [...ok, ...bad].filter((v): v is number => v !== null).sort((a, b) => a - b);
    const median = all.length ? (all[Math.floor(all.length / 2)] as number) : 0;
    const summary = `${all.length} finished runs: median ${fmt(median)}, longest ${fmt(all[all.length - 1])}, ${bad.filter((v) => v !== null).length} failed.`;
    return { data: [xs, ok, bad] as ChartData, count: all.length, summary };
  }, [recent]);

  if (!recent) return null;
  if (model.count === 0) return <p class="muted">The duration chart shows once a run has finished.</p>;
  return (
    <div class="duration-chart">
      <h3 class="small muted">Duration of the last {model.count} runs</h3>
      <Chart id="duration-chart" label="Duration of recent runs" summary={model.summary} height={180} data={model.data} options={options} />
      <p class="sr-only">{model.summary}</p>
    </div>
  );
}
