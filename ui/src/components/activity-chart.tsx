/**
 * Executions over time as stacked bars (success, failed, skipped per bucket), in plain SVG: a few
 * dozen rectangles need no chart library, scale to any width (a 390 px phone included) and follow the
 * theme through CSS variables. Each bar has a tooltip; screen readers get the numbers as a table.
 */
import type { JSX } from 'preact';
import './activity-chart.css';

export interface ActivityPoint {
  t: string;
  success: number;
  failed: number;
  skipped: number;
}

const KINDS = [
  ['success', 'Succeeded', 'act-ok'],
  ['failed', 'Failed', 'act-bad'],
  ['skipped', 'Skipped', 'act-skip'],
] as const;

const W = 1000;
const H = 200;

export function ActivityChart({ label, points, bucketMs }: { label: string; points: ActivityPoint[]; bucketMs: number }): JSX.Element {
  const max = Math.max(1, ...points.map((p) => p.success + p.failed + p.skipped));
  const slot = W / Math.max(1, points.length);
  const gap = Math.min(4, slot * 0.2);
  // Hourly bars read as times of day; coarser ones need the day too.
  const when = (iso: string): string =>
    new Date(iso).toLocaleString(undefined, bucketMs < 6 * 3600_000 ? { hour: 'numeric', minute: '2-digit' } : { weekday: 'short', hour: 'numeric' });
  // A handful of axis labels, whatever the number of bars (fewer of the longer ones, for a phone).
  const every = Math.max(1, Math.ceil(points.length / (bucketMs < 6 * 3600_000 ? 6 : 4)));
  const total = points.reduce((n, p) => n + p.success + p.failed + p.skipped, 0);
  return (
    <figure class="act-chart">
      <div class="act-plot">
        <span class="act-max muted small" aria-hidden="true">
          {max}
        </span>
        <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={`${label}: ${total} in all`} class="act-svg">
          <line x1="0" y1={H - 0.5} x2={W} y2={H - 0.5} class="act-axis" />
          {points.map((p, i) => {
            let y = H;
            const x = i * slot + gap / 2;
            return (
              <g key={p.t} class="act-bar" data-t={p.t}>
                <title>{`${when(p.t)}: ${p.success} succeeded, ${p.failed} failed, ${p.skipped} skipped`}</title>
                {/* A full-height transparent target so thin bars still show their tooltip. */}
                <rect x={x} y={0} width={slot - gap} height={H} class="act-hit" />
                {KINDS.map(([key, , cls]) => {
                  const v = p[key];
                  if (v <= 0) return null;
                  const h = (v / max) * (H - 4);
                  y -= h;
                  return <rect key={key} x={x} y={y} width={slot - gap} height={h} class={cls} />;
                })}
              </g>
            );
          })}
        </svg>
      </div>
      <div class="act-ticks muted small" aria-hidden="true">
        {points.map((p, i) => (
          <span key={p.t} class={(i / every) % 2 === 1 ? 'act-minor' : undefined} style={{ left: `${((i + 0.5) * 100) / Math.max(1, points.length)}%` }}>
            {i % every === 0 ? when(p.t) : ''}
          </span>
        ))}
      </div>
      <figcaption class="act-legend small">
        {KINDS.map(([key, name, cls]) => (
          <span key={key}>
            <i class={`act-swatch ${cls}`} aria-hidden="true" />
            {name} {points.reduce((n, p) => n + p[key], 0)}
          </span>
        ))}
      </figcaption>
      {/* In a div: a table ignores the 1 px width of .sr-only and would widen the page. */}
      <div class="sr-only">
        <table>
          <caption>{label}</caption>
          <thead>
            <tr>
              <th scope="col">From</th>
              {KINDS.map(([key, name]) => (
                <th key={key} scope="col">
                  {name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {points.map((p) => (
              <tr key={p.t}>
                <th scope="row">{new Date(p.t).toLocaleString()}</th>
                <td>{p.success}</td>
                <td>{p.failed}</td>
                <td>{p.skipped}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
