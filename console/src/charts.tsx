import { useEffect, useRef } from 'react';
import type { TopLevelSpec } from 'vega-lite';

/**
 * A Vega-Lite chart (vega-embed), rendered as SVG. The spec is re-embedded when it changes; vega-embed is
 * loaded on first use so the sign-in page does not wait for it.
 */
export function Chart({ spec, label }: { spec: TopLevelSpec; label: string }) {
  const el = useRef<HTMLDivElement>(null);
  const json = JSON.stringify(spec);
  useEffect(() => {
    let finalize: (() => void) | null = null;
    let live = true;
    void import('vega-embed').then(async ({ default: embed }) => {
      if (!live || !el.current) return;
      const result = await embed(el.current, JSON.parse(json) as TopLevelSpec, { actions: false, renderer: 'svg' });
      if (live) finalize = () => result.finalize();
      else result.finalize();
    });
    return () => {
      live = false;
      finalize?.();
    };
  }, [json]);
  return <div className="chart" ref={el} aria-label={label} data-chart={label} />;
}

/** Readable bin labels: 3 significant digits, no scientific notation below a million. */
export function binLabel(lo: number, hi: number): string {
  const f = (v: number) => {
    const a = Math.abs(v);
    if (a >= 1e6 || (a > 0 && a < 1e-3)) return v.toExponential(1);
    return Number(v.toPrecision(3)).toLocaleString('en-US');
  };
  return `${f(lo)}–${f(hi)}`;
}

/** Histogram rows (one per bin) with readable labels, in bin order. */
export function histogramRows(edges: number[], series: Record<string, number[]>): Array<Record<string, unknown>> {
  const rows: Array<Record<string, unknown>> = [];
  for (const [name, counts] of Object.entries(series)) {
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    counts.forEach((c, i) => rows.push({ bin: binLabel(edges[i]!, edges[i + 1]!), order: i, series: name, count: c, share: c / total }));
  }
  return rows;
}
