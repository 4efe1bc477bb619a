/**
 * uPlot in a Preact component: sized to its container (ResizeObserver, so it fits a 390 px phone),
 * rebuilt when the theme flips (a canvas can't read CSS variables: colours are resolved at build
 * time through `color()`), data swapped in place when only the data changes.
 *
 * Usage: <Chart label="Durations" height={180} data={[xs, ys]} options={(color) => ({ series: [...] })} />
 * `options` gets `color('--ok')` → the current theme's value of a CSS variable.
 */
import 'uplot/dist/uPlot.min.css';
import './chart.css';
// Types only here: uPlot's code (~20 KB gzipped) loads with the first chart, not with every page.
import type uPlot from 'uplot';
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

export type ChartData = uPlot.AlignedData;
export type ChartOptions = Omit<uPlot.Options, 'width' | 'height'>;
export type ColorOf = (cssVariable: string) => string;

export function cssColor(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/** Axis colours that follow the theme; spread into `axes` entries. */
export function themedAxis(color: ColorOf): uPlot.Axis {
  return { stroke: color('--muted'), grid: { stroke: color('--border'), width: 1 }, ticks: { stroke: color('--border'), width: 1 } };
}

export interface ChartProps {
  /** Accessible name of the chart (the canvas itself says nothing to a screen reader). */
  label: string;
  height?: number;
  data: ChartData;
  options: (color: ColorOf) => ChartOptions;
  /** A text alternative (a summary of the data) for screen readers. */
  summary?: string;
  id?: string;
}

export function Chart({ label, height = 200, data, options, summary, id }: ChartProps): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const optionsRef = useRef(options);
  optionsRef.current = options;
  const dataRef = useRef(data);
  dataRef.current = data;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let UPlot: typeof uPlot | null = null;
    let gone = false;
    const build = (): void => {
      if (!UPlot) return;
      plot.current?.destroy();
      const width = Math.max(120, Math.floor(el.clientWidth));
      plot.current = new UPlot({ ...optionsRef.current(cssColor), width, height }, dataRef.current, el);
    };
    void import('uplot').then((m) => {
      if (gone) return;
      UPlot = m.default;
      build();
    });
    const resize = new ResizeObserver(() => {
      const width = Math.max(120, Math.floor(el.clientWidth));
      if (plot.current && Math.abs(plot.current.width - width) > 1) plot.current.setSize({ width, height });
    });
    resize.observe(el);
    // The theme toggle sets data-theme on <html>; the system theme may change too.
    const themeWatch = new MutationObserver(build);
    themeWatch.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    const media = window.matchMedia?.('(prefers-color-scheme: dark)');
    media?.addEventListener('change', build);
    return () => {
      gone = true;
      resize.disconnect();
      themeWatch.disconnect();
      media?.removeEventListener('change', build);
      plot.current?.destroy();
      plot.current = null;
    };
  }, [height]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return (
    <figure class="chart" id={id} aria-label={label}>
      <div ref={box} class="chart-box" role="img" aria-label={summary ?? label} />
    </figure>
  );
}
