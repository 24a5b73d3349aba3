/**
 * The benchmark's chart as a self-contained SVG (no plotting dependency):
 * on the left, latency percentile plots (x: percentile on a "nines" axis,
 * 0 / 90 / 99 / 99.9 / 99.99 %; y: ms, log scale), one line per system; on
 * the right, throughput (ops/s per bucket) of each timed round, rounds back
 * to back in the order they ran, so the A B A B alternation and any drift
 * are visible (log scale when the systems are an order of magnitude apart).
 */

export interface CurveSeries {
  name: string;
  color: string;
  /** [percentile, ms] points (latency-stats.ts percentileCurve). */
  points: Array<[number, number]>;
}

export interface TimelineSeries {
  name: string;
  color: string;
  /** Seconds since the first round began when this round began. */
  startS: number;
  bucketMs: number;
  /** Completed ops per bucket. */
  counts: number[];
}

const W = 1000;
const H = 440;
const PANEL_W = 430;
const PANEL_H = 320;
const TOP = 60;
const LEFT1 = 70;
const LEFT2 = 560;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));

export function renderChart(title: string, subtitle: string, curves: CurveSeries[], timelines: TimelineSeries[]): string {
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="${W / 2}" y="40" text-anchor="middle" fill="#555">${esc(subtitle)}</text>`);
  out.push(...latencyPanel(curves));
  out.push(...throughputPanel(timelines));
  out.push('</svg>');
  return out.join('\n');
}

function latencyPanel(curves: CurveSeries[]): string[] {
  const out: string[] = [];
  const all = curves.flatMap((c) => c.points.map(([, ms]) => ms)).filter((x) => x > 0 && Number.isFinite(x));
  const lo = 10 ** Math.floor(Math.log10(Math.max(0.01, Math.min(...all, 1))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all, 1)));
  const maxNines = 4;
  const x = (p: number): number => LEFT1 + (Math.min(maxNines, -Math.log10(Math.max(1e-4, 1 - p / 100))) / maxNines) * PANEL_W;
  const y = (ms: number): number => TOP + PANEL_H - ((Math.log10(Math.max(ms, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * PANEL_H;
  out.push(`<text x="${LEFT1 + PANEL_W / 2}" y="${TOP - 8}" text-anchor="middle" font-weight="bold">Latency by percentile (ms, log scale)</text>`);
  out.push(`<rect x="${LEFT1}" y="${TOP}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#999"/>`);
  for (let v = lo; v <= hi * 1.0001; v *= 10) {
    out.push(`<line x1="${LEFT1}" x2="${LEFT1 + PANEL_W}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${LEFT1 - 6}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  for (const [p, label] of [[0, '0%'], [90, '90%'], [99, '99%'], [99.9, '99.9%'], [99.99, '99.99%']] as const) {
    out.push(`<line x1="${x(p)}" x2="${x(p)}" y1="${TOP}" y2="${TOP + PANEL_H}" stroke="#ddd"/>`);
    out.push(`<text x="${x(p)}" y="${TOP + PANEL_H + 16}" text-anchor="middle">${label}</text>`);
  }
  // The 10 ms target of issue 6.
  if (10 >= lo && 10 <= hi) {
    out.push(`<line x1="${LEFT1}" x2="${LEFT1 + PANEL_W}" y1="${y(10)}" y2="${y(10)}" stroke="#c00" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${LEFT1 + 4}" y="${y(10) - 4}" fill="#c00">10 ms</text>`);
  }
  curves.forEach((c, i) => {
    const d = c.points.map(([p, ms], k) => `${k === 0 ? 'M' : 'L'}${x(p).toFixed(1)},${y(ms).toFixed(1)}`).join('');
    out.push(`<path d="${d}" fill="none" stroke="${c.color}" stroke-width="2"/>`);
    out.push(`<rect x="${LEFT1 + 10}" y="${TOP + 10 + i * 18}" width="12" height="3" fill="${c.color}"/>`);
    out.push(`<text x="${LEFT1 + 28}" y="${TOP + 15 + i * 18}">${esc(c.name)}</text>`);
  });
  return out;
}

function throughputPanel(series: TimelineSeries[]): string[] {
  const out: string[] = [];
  const rates = series.flatMap((s) => s.counts.map((n) => (n * 1000) / s.bucketMs));
  const positive = rates.filter((r) => r > 0);
  const maxRate = niceCeil(Math.max(1, ...rates));
  // Systems an order of magnitude apart would leave the slower one a flat line at zero: use a log scale then.
  const minRate = positive.length > 0 ? Math.min(...positive) : 1;
  const logScale = maxRate / Math.max(1, minRate) > 8;
  const lo = logScale ? 10 ** Math.floor(Math.log10(Math.max(1, minRate))) : 0;
  const endS = Math.max(1, ...series.map((s) => s.startS + (s.counts.length * s.bucketMs) / 1000));
  const x = (t: number): number => LEFT2 + (t / endS) * PANEL_W;
  const y = (r: number): number => (logScale
    ? TOP + PANEL_H - ((Math.log10(Math.max(r, lo)) - Math.log10(lo)) / (Math.log10(maxRate) - Math.log10(lo))) * PANEL_H
    : TOP + PANEL_H - (r / maxRate) * PANEL_H);
  out.push(`<text x="${LEFT2 + PANEL_W / 2}" y="${TOP - 8}" text-anchor="middle" font-weight="bold">Throughput, rounds back to back (ops/s${logScale ? ', log scale' : ''})</text>`);
  out.push(`<rect x="${LEFT2}" y="${TOP}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#999"/>`);
  const ticks = logScale
    ? Array.from({ length: Math.round(Math.log10(maxRate / lo)) + 1 }, (_, k) => lo * 10 ** k).filter((r) => r <= maxRate)
    : [0, 1, 2, 3, 4].map((k) => (maxRate * k) / 4);
  for (const r of ticks) {
    out.push(`<line x1="${LEFT2}" x2="${LEFT2 + PANEL_W}" y1="${y(r)}" y2="${y(r)}" stroke="#ddd"/>`);
    out.push(`<text x="${LEFT2 - 6}" y="${y(r) + 4}" text-anchor="end">${Math.round(r)}</text>`);
  }
  const step = niceCeil(endS / 6);
  for (let t = 0; t <= endS; t += step) out.push(`<text x="${x(t)}" y="${TOP + PANEL_H + 16}" text-anchor="middle">${Math.round(t)} s</text>`);
  const legend = new Map<string, string>();
  for (const s of series) {
    legend.set(s.name, s.color);
    const d = s.counts
      .map((n, k) => `${k === 0 ? 'M' : 'L'}${x(s.startS + ((k + 0.5) * s.bucketMs) / 1000).toFixed(1)},${y((n * 1000) / s.bucketMs).toFixed(1)}`)
      .join('');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
  }
  [...legend].forEach(([name, color], i) => {
    out.push(`<rect x="${LEFT2 + 10}" y="${TOP + 10 + i * 18}" width="12" height="3" fill="${color}"/>`);
    out.push(`<text x="${LEFT2 + 28}" y="${TOP + 15 + i * 18}">${esc(name)}</text>`);
  });
  return out;
}

/** 1, 2 or 5 times a power of ten, at least x. */
function niceCeil(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}
