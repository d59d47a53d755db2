/**
 * The HTML report of a run: one self-contained file (inline CSS and SVG, no script, nothing
 * fetched), with the rate over time (target and achieved), the messages by kind, and in
 * JetStream mode the latency percentiles over time.
 */
import type { InjectionReport, Sample } from './injection.js';

export interface ReportContext {
  title: string;
  command: string;
  startedAt: Date;
  seed: number;
  topology: { lines: number; transformers: number; usagePoints: number };
}

interface Series {
  name: string;
  colour: string;
  points: [number, number][];
}

export function renderHtmlReport(report: InjectionReport, samples: readonly Sample[], context: ReportContext): string {
  const seconds = samples.map((s) => s.second);
  const rateChart = lineChart('Messages per second', 'msgs/s', [
    { name: 'target', colour: '#888', points: samples.map((s, i) => [seconds[i]!, s.target]) },
    { name: 'published', colour: '#1f77b4', points: samples.map((s, i) => [seconds[i]!, s.published]) },
    { name: 'lost', colour: '#d62728', points: samples.map((s, i) => [seconds[i]!, s.lost]) },
  ]);
  const latencySamples = samples.filter((s) => s.latency);
  const latencyChart = latencySamples.length
    ? lineChart('Latency from the planned send time to the acknowledgement', 'ms', [
        { name: 'p50', colour: '#2ca02c', points: latencySamples.map((s) => [s.second, s.latency!.p50]) },
        { name: 'p99', colour: '#ff7f0e', points: latencySamples.map((s) => [s.second, s.latency!.p99]) },
        { name: 'max', colour: '#d62728', points: latencySamples.map((s) => [s.second, s.latency!.max]) },
      ])
    : '';
  const total = report.kinds.temperature + report.kinds.forecast + report.kinds.voltage;
  const kindRows = (['voltage', 'temperature', 'forecast'] as const)
    .map((kind) => {
      const n = report.kinds[kind];
      const width = total ? (400 * n) / total : 0;
      return `<tr><td>${kind}</td><td class="n">${n.toLocaleString('en')}</td><td><svg width="410" height="14" role="img" aria-label="${kind}"><rect width="${width.toFixed(1)}" height="14" fill="#1f77b4"/></svg></td></tr>`;
    })
    .join('');
  const summaryRows: [string, string][] = [
    ['mode', report.mode],
    // The summary's figures as they are (rounded as in --json: 0.667, not 0.67).
    ['target rate', report.targetRate === 'max' ? 'flat-out' : `${rate(report.targetRate)} msgs/s${report.peakTargetRate !== undefined && report.peakTargetRate !== report.targetRate ? ` (mean of the schedule over the run; peak ${rate(report.peakTargetRate)})` : ''}`],
    ['achieved rate', `${rate(report.achievedRate)} msgs/s`],
    ['duration', `${report.durationSeconds} s`],
    ['scheduled / published', `${fmt(report.scheduled)} / ${fmt(report.published)}`],
    ['confirmed', fmt(report.confirmed)],
    ['lost', `${fmt(report.lost)}${report.lost ? ` (${lossText(report)})` : ''}`],
    ['missed slots', `${fmt(report.missedSlots)} (max lag ${report.maxLagMs} ms)`],
    ['rate held', report.rateHeld ? 'yes' : 'no'],
    ['simulated time', `${report.simulatedStart} → ${report.simulatedEnd}`],
    ['topology', `${context.topology.lines} lines × ${context.topology.transformers} transformers × ${context.topology.usagePoints} points`],
    ['seed', String(context.seed)],
  ];
  if (report.latencyMs) {
    const l = report.latencyMs;
    summaryRows.push(['latency (ms)', `p50 ${l.p50} · p90 ${l.p90} · p99 ${l.p99} · p99.9 ${l.p999} · max ${l.max}`]);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(context.title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:960px;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}
table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
code{background:#f4f4f4;padding:.1em .3em}
.legend span{margin-right:1.2em}.legend i{display:inline-block;width:1em;height:.3em;vertical-align:middle;margin-right:.3em}
</style></head><body>
<h1>${escape(context.title)}</h1>
<p>Started ${context.startedAt.toISOString()} · <code>${escape(context.command)}</code></p>
<h2>Summary</h2>
<table>${summaryRows.map(([k, v]) => `<tr><th>${escape(k)}</th><td>${escape(v)}</td></tr>`).join('')}</table>
<h2>Rate</h2>
${rateChart}
<h2>Messages by kind</h2>
<table>${kindRows}</table>
${latencyChart ? `<h2>Latency</h2>\n${latencyChart}` : ''}
</body></html>
`;
}

function lineChart(title: string, unit: string, series: Series[]): string {
  const width = 900;
  const height = 300;
  const pad = { left: 70, right: 10, top: 10, bottom: 30 };
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = Math.max(1, ...xs);
  const yMax = niceCeiling(Math.max(1, ...ys));
  const x = (v: number) => pad.left + (v / xMax) * (width - pad.left - pad.right);
  const y = (v: number) => height - pad.bottom - (v / yMax) * (height - pad.top - pad.bottom);
  const gridLines = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(f * yMax).toFixed(1)}" y2="${y(f * yMax).toFixed(1)}" stroke="#eee"/><text x="${pad.left - 6}" y="${(y(f * yMax) + 4).toFixed(1)}" text-anchor="end" font-size="11">${fmt(f * yMax)}</text>`)
    .join('');
  const xTicks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => `<text x="${x(f * xMax).toFixed(1)}" y="${height - 10}" text-anchor="middle" font-size="11">${fmt(f * xMax)} s</text>`)
    .join('');
  const paths = series
    .filter((s) => s.points.length)
    .map((s) => `<polyline fill="none" stroke="${s.colour}" stroke-width="1.5" points="${s.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ')}"><title>${escape(s.name)}</title></polyline>`)
    .join('');
  const legend = series.map((s) => `<span><i style="background:${s.colour}"></i>${escape(s.name)}</span>`).join('');
  return `<figure><figcaption>${escape(title)} (${escape(unit)})</figcaption>
<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(title)}">${gridLines}${xTicks}${paths}</svg>
<div class="legend">${legend}</div></figure>`;
}

function niceCeiling(v: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= v) return step * magnitude;
  return 10 * magnitude;
}

function lossText(report: InjectionReport): string {
  return Object.entries(report.lostReasons)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${fmt(n)}`)
    .join(', ');
}

/** A rate of the summary: as it is below 1000, grouped above (12,345.6). */
function rate(n: number): string {
  return n >= 1000 ? n.toLocaleString('en', { maximumFractionDigits: 1 }) : String(n);
}

function fmt(n: number): string {
  return Math.round(n * 100) / 100 >= 1000 ? Math.round(n).toLocaleString('en') : String(Math.round(n * 100) / 100);
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
