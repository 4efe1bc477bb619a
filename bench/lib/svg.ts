/**
 * A small dependency-free SVG chart writer for the bench: a horizontal grouped bar chart and a
 * line chart (optionally log-scaled). Light theme, title, axis label, legend. The output is a
 * pure function of the input (no timestamps, no ids, fixed number formatting), so re-rendering
 * the same results gives the same bytes and committed charts diff cleanly.
 */

export interface Series {
  name: string;
  color?: string;
}

/** One row group of the bar chart: one value per series, in the series' order. */
export interface BarGroup {
  label: string;
  values: readonly (number | null | undefined)[];
  /** Draws this group's bars in this colour instead of the series' (e.g. a reference row). */
  color?: string;
}

export interface BarChartSpec {
  title: string;
  subtitle?: string;
  /** Label under the value axis, e.g. "lateness (ms)". */
  axisLabel: string;
  /** Appended to each value label, e.g. " ms". */
  unit?: string;
  series: readonly Series[];
  groups: readonly BarGroup[];
  /** Shown where a value is missing or not a number (default "n/a"). */
  missing?: string;
  width?: number;
}

export interface LineSeries extends Series {
  points: readonly { x: number; y: number | null | undefined }[];
}

export interface LineChartSpec {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  unit?: string;
  series: readonly LineSeries[];
  logX?: boolean;
  logY?: boolean;
  width?: number;
  height?: number;
}

/** Okabe–Ito colours (readable by colour-blind readers); the reference is drawn in grey. */
export const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442'] as const;
export const REFERENCE_COLOR = '#8c8c8c';
const INK = '#222222';
const MUTED = '#666666';
const GRID = '#e3e3e3';

export function escapeXml(s: string): string {
  return s
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '') // not allowed in XML 1.0
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
/** Coordinates: one decimal, no "-0". */
const c = (v: number): string => String(Math.round(v * 10) / 10 || 0);
const colorOf = (s: Series, i: number): string => s.color ?? PALETTE[i % PALETTE.length] ?? INK;
/** Rough width of a label in px (no font metrics here; generous enough for sans-serif). */
const textWidth = (s: string, size: number): number => s.length * size * 0.58;

/** Four significant figures (whole numbers from 1000, three decimals at most), no trailing zeros: 1090, 225.8, 18.99, 0.125. */
export function formatValue(v: number): string {
  const a = Math.abs(v);
  if (a >= 1000) return String(Math.round(v));
  return String(Number(a >= 1 ? v.toPrecision(4) : v.toFixed(3)));
}

/** Log-axis ticks: 1k, 10k, 1M for big round numbers. */
function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6 && v % 1e5 === 0) return `${v / 1e6}M`;
  if (a >= 1e3 && v % 100 === 0) return `${v / 1e3}k`;
  return formatValue(v);
}

/** "Nice" linear ticks (steps of 1, 2 or 5 × 10^k) covering [min, max]. */
export function linearTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  const lo = Math.floor(min / step);
  const hi = Math.ceil(max / step);
  return Array.from({ length: hi - lo + 1 }, (_, i) => Number(((lo + i) * step).toPrecision(12)));
}

/** Powers of ten covering [min, max] (both > 0). */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(max)));
  return Array.from({ length: hi - lo + 1 }, (_, i) => Number((10 ** (lo + i)).toPrecision(12)));
}

const text = (x: number, y: number, s: string, attrs = ''): string =>
  `<text x="${c(x)}" y="${c(y)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(s)}</text>`;

/** Title, subtitle and (for more than one series) a wrapping legend; returns the elements and the y below them. */
function header(width: number, title: string, subtitle: string | undefined, series: readonly Series[]): { parts: string[]; y: number } {
  const parts = [text(16, 26, title, `font-size="16" font-weight="bold" fill="${INK}"`)];
  let y = 34;
  if (subtitle) {
    parts.push(text(16, y + 12, subtitle, `font-size="12" fill="${MUTED}"`));
    y += 18;
  }
  if (series.length > 1) {
    let x = 16;
    y += 8;
    series.forEach((s, i) => {
      const w = 18 + textWidth(s.name, 12) + 18;
      if (x > 16 && x + w > width - 16) {
        x = 16;
        y += 20;
      }
      parts.push(`<rect x="${c(x)}" y="${c(y)}" width="12" height="12" fill="${colorOf(s, i)}"/>`);
      parts.push(text(x + 18, y + 10.5, s.name, `font-size="12" fill="${INK}"`));
      x += w;
    });
    y += 14;
  }
  return { parts, y: y + 10 };
}

function document(width: number, height: number, title: string, parts: readonly string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${c(width)}" height="${c(height)}" viewBox="0 0 ${c(width)} ${c(height)}" ` +
      'font-family="Helvetica, Arial, sans-serif" role="img">',
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${c(width)}" height="${c(height)}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/** Horizontal grouped bars: groups down the side, one bar per series in each, value at the bar's end. */
export function barChart(spec: BarChartSpec): string {
  const width = spec.width ?? 760;
  const unit = spec.unit ?? '';
  const missing = spec.missing ?? 'n/a';
  const { parts, y: top } = header(width, spec.title, spec.subtitle, spec.series);
  const values = spec.groups.flatMap((g) => g.values.filter(finite));
  const ticks = linearTicks(0, Math.max(0, ...values));
  const domain = ticks[ticks.length - 1] ?? 1;
  const labelW = Math.min(width * 0.4, Math.max(40, ...spec.groups.map((g) => textWidth(g.label, 12))));
  const valueW = Math.max(textWidth(missing, 11), ...values.map((v) => textWidth(formatValue(v) + unit, 11)));
  const left = 16 + labelW + 10;
  const plotW = Math.max(100, width - left - valueW - 24);
  const barH = 16;
  const gap = 3;
  const groupGap = 14;
  const groupH = spec.series.length * barH + Math.max(0, spec.series.length - 1) * gap;
  const plotTop = top + 6;
  const plotBottom = plotTop + groupGap + spec.groups.length * (groupH + groupGap);
  const xOf = (v: number): number => left + (Math.max(0, v) / domain) * plotW;
  for (const t of ticks) {
    parts.push(`<line x1="${c(xOf(t))}" y1="${c(plotTop)}" x2="${c(xOf(t))}" y2="${c(plotBottom)}" stroke="${GRID}"/>`);
    parts.push(text(xOf(t), plotBottom + 16, formatValue(t), `font-size="11" fill="${MUTED}" text-anchor="middle"`));
  }
  parts.push(`<line x1="${c(left)}" y1="${c(plotTop)}" x2="${c(left)}" y2="${c(plotBottom)}" stroke="${INK}"/>`);
  spec.groups.forEach((g, gi) => {
    const gy = plotTop + groupGap + gi * (groupH + groupGap);
    parts.push(text(left - 10, gy + groupH / 2 + 4, g.label, `font-size="12" fill="${INK}" text-anchor="end"`));
    spec.series.forEach((s, si) => {
      const y = gy + si * (barH + gap);
      const v = g.values[si];
      if (!finite(v)) {
        parts.push(text(left + 4, y + barH / 2 + 4, missing, `font-size="11" fill="${MUTED}"`));
        return;
      }
      const label = `${formatValue(v)}${unit}`;
      parts.push(
        `<rect class="bar" x="${c(left)}" y="${c(y)}" width="${c(xOf(v) - left)}" height="${barH}" fill="${g.color ?? colorOf(s, si)}">` +
          `<title>${escapeXml(`${s.name}, ${g.label}: ${label}`)}</title></rect>`,
      );
      parts.push(text(xOf(v) + 4, y + barH / 2 + 4, label, `font-size="11" fill="${INK}"`));
    });
  });
  parts.push(text(left + plotW / 2, plotBottom + 36, spec.axisLabel, `font-size="12" fill="${INK}" text-anchor="middle"`));
  return document(width, plotBottom + 48, spec.title, parts);
}

/**
 * Lines through (x, y) points per series, each point labelled (above for even series, below for odd
 * ones, so two close series stay readable); a missing y breaks the line. Log axes use powers of ten.
 */
export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? 760;
  const height = spec.height ?? 420;
  const unit = spec.unit ?? '';
  const { parts, y: top } = header(width, spec.title, spec.subtitle, spec.series);
  const usable = (v: number | null | undefined, log: boolean | undefined): v is number => finite(v) && (!log || v > 0);
  const xs = spec.series.flatMap((s) => s.points.map((p) => p.x).filter((x) => usable(x, spec.logX)));
  const ys = spec.series.flatMap((s) => s.points.map((p) => p.y).filter((y) => usable(y, spec.logY)));
  const axis = (vs: number[], log: boolean | undefined): { ticks: number[]; at: (v: number) => number } => {
    const ticks = log
      ? logTicks(vs.length ? Math.min(...vs) : 1, vs.length ? Math.max(...vs) : 10)
      : linearTicks(vs.length ? Math.min(0, ...vs) : 0, vs.length ? Math.max(...vs) : 1);
    const f = log ? Math.log10 : (v: number): number => v;
    const lo = f(ticks[0] ?? 0);
    const hi = f(ticks[ticks.length - 1] ?? 1);
    return { ticks, at: (v) => (f(v) - lo) / (hi - lo || 1) };
  };
  const ax = axis(xs, spec.logX);
  const ay = axis(ys, spec.logY);
  const left = 72;
  const right = width - 24;
  const plotTop = top + 8;
  const plotBottom = height - 52;
  const X = (v: number): number => left + ax.at(v) * (right - left);
  const Y = (v: number): number => plotBottom - ay.at(v) * (plotBottom - plotTop);
  for (const t of ax.ticks) {
    parts.push(`<line x1="${c(X(t))}" y1="${c(plotTop)}" x2="${c(X(t))}" y2="${c(plotBottom)}" stroke="${GRID}"/>`);
    parts.push(text(X(t), plotBottom + 16, (spec.logX ? formatTick : formatValue)(t), `font-size="11" fill="${MUTED}" text-anchor="middle"`));
  }
  for (const t of ay.ticks) {
    parts.push(`<line x1="${c(left)}" y1="${c(Y(t))}" x2="${c(right)}" y2="${c(Y(t))}" stroke="${GRID}"/>`);
    parts.push(text(left - 6, Y(t) + 4, (spec.logY ? formatTick : formatValue)(t), `font-size="11" fill="${MUTED}" text-anchor="end"`));
  }
  parts.push(`<polyline points="${c(left)},${c(plotTop)} ${c(left)},${c(plotBottom)} ${c(right)},${c(plotBottom)}" fill="none" stroke="${INK}"/>`);
  spec.series.forEach((s, si) => {
    const color = colorOf(s, si);
    const runs: string[][] = [[]];
    const markers: string[] = [];
    for (const p of [...s.points].sort((a, b) => a.x - b.x)) {
      if (!usable(p.x, spec.logX) || !usable(p.y, spec.logY)) {
        runs.push([]);
        continue;
      }
      runs[runs.length - 1]?.push(`${c(X(p.x))},${c(Y(p.y))}`);
      const label = `${formatValue(p.y)}${unit}`;
      markers.push(
        `<circle cx="${c(X(p.x))}" cy="${c(Y(p.y))}" r="3.5" fill="${color}"><title>${escapeXml(`${s.name}, ${formatTick(p.x)}: ${label}`)}</title></circle>`,
      );
      markers.push(text(X(p.x), Y(p.y) + (si % 2 ? 16 : -8), label, `font-size="10" fill="${color}" text-anchor="middle"`));
    }
    for (const run of runs.filter((r) => r.length > 1)) {
      parts.push(`<polyline points="${run.join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    parts.push(...markers);
  });
  parts.push(text((left + right) / 2, plotBottom + 38, spec.xLabel + (spec.logX ? ' (log scale)' : ''), `font-size="12" fill="${INK}" text-anchor="middle"`));
  const yMid = (plotTop + plotBottom) / 2;
  parts.push(
    text(18, yMid, spec.yLabel + (spec.logY ? ' (log scale)' : ''), `font-size="12" fill="${INK}" text-anchor="middle" transform="rotate(-90 18 ${c(yMid)})"`),
  );
  return document(width, height, spec.title, parts);
}
