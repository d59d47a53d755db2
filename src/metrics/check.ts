/**
 * Is anything arriving? For each series smartmeter emits, asks Graphite (render API) or
 * Prometheus (HTTP API) whether it has a value within the last `windowMs`: the quick answer to
 * "is the dashboard empty because nothing flows?".
 */
import { RuntimeError } from '../errors.js';
import { cassandraSamples } from '../cassandra/stats.js';
import { ingestSamples } from '../ingest/metrics.js';
import { injectSamples } from '../inject/metrics.js';
import { prometheusName, type MetricSample } from './samples.js';

export type MetricsCommand = 'inject' | 'ingest' | 'cassandra';
export const METRICS_COMMANDS: readonly MetricsCommand[] = ['inject', 'ingest', 'cassandra'];

/** The Graphite path nodes between `<prefix>.<command>` and the name: the slot, or keyspace and table. */
const GRAPHITE_NODES: Record<MetricsCommand, string> = { inject: '*', ingest: '*', cassandra: '*.*' };

export interface ExpectedSeries {
  command: MetricsCommand;
  sample: Pick<MetricSample, 'name' | 'type'>;
  /** Only some runs emit it (JetStream latency). */
  optional: boolean;
}

export interface SeriesCheck {
  backend: 'graphite' | 'prometheus';
  series: string;
  optional: boolean;
  arriving: boolean;
  /** Latest value and how old it is, when arriving. */
  last?: { value: number; ageSeconds: number };
}

/** The series each command emits, taken from the emitters themselves. */
export function expectedSeries(commands: readonly MetricsCommand[]): ExpectedSeries[] {
  const zero = { elapsedSeconds: 0, targetRate: 0, currentRate: 0, scheduled: 0, published: 0, confirmed: 0, lost: 0, errors: 0, missedSlots: 0, lagMs: 0, kinds: { temperature: 0, forecast: 0, voltage: 0 } };
  const all: ExpectedSeries[] = [];
  if (commands.includes('inject')) {
    const always = new Set(injectSamples(zero).map((s) => s.name));
    for (const s of injectSamples({ ...zero, latency: { p50: 0, p99: 0 } })) all.push({ command: 'inject', sample: s, optional: !always.has(s.name) });
  }
  if (commands.includes('ingest')) {
    const stats = { mode: 'core' as const, received: 0, written: 0, malformed: { 'bad-subject': 0, 'bad-length': 0, 'bad-epoch': 0 }, rejected: 0, lost: 0, redelivered: 0, handedBack: 0, durationSeconds: 0, rowsPerSecond: 0, writeRequests: 0 };
    for (const s of ingestSamples(stats, { inFlight: 0, queued: 0, writeRequests: 0 }, 0)) all.push({ command: 'ingest', sample: s, optional: false });
  }
  if (commands.includes('cassandra')) {
    const table = { table: 't', rows: 0, rowsFrom: 'scan' as const, writes: 0, reads: 0, writeP99Ms: 0, diskMiB: 0 };
    for (const s of cassandraSamples('ks', [table])) all.push({ command: 'cassandra', sample: s, optional: false });
  }
  return all;
}

export async function checkGraphite(baseUrl: string, prefix: string, expected: readonly ExpectedSeries[], windowMs: number, nowMs = Date.now()): Promise<SeriesCheck[]> {
  const checks: SeriesCheck[] = [];
  for (const e of expected) {
    const series = `${prefix}.${e.command}.${GRAPHITE_NODES[e.command]}.${e.sample.name}`;
    const url = `${baseUrl.replace(/\/$/, '')}/render?format=json&from=-${Math.max(1, Math.ceil(windowMs / 1000))}s&target=${encodeURIComponent(series)}`;
    const body = (await getJson(url, 'Graphite')) as { datapoints: [number | null, number][] }[];
    let last: SeriesCheck['last'];
    for (const target of body) {
      for (const [value, at] of target.datapoints) {
        if (value !== null && (!last || nowMs / 1000 - at < last.ageSeconds)) last = { value, ageSeconds: Math.max(0, Math.round(nowMs / 1000 - at)) };
      }
    }
    checks.push({ backend: 'graphite', series, optional: e.optional, arriving: last !== undefined, last });
  }
  return checks;
}

export async function checkPrometheus(baseUrl: string, expected: readonly ExpectedSeries[], windowMs: number, nowMs = Date.now()): Promise<SeriesCheck[]> {
  const checks: SeriesCheck[] = [];
  for (const e of expected) {
    const series = prometheusName(e.command, e.sample);
    const query = `last_over_time(timestamp(${series})[${Math.max(1, Math.ceil(windowMs / 1000))}s:1s])`;
    const value = `last_over_time(${series}[${Math.max(1, Math.ceil(windowMs / 1000))}s])`;
    const stamps = await prometheusVector(baseUrl, query);
    const values = await prometheusVector(baseUrl, value);
    let last: SeriesCheck['last'];
    if (stamps.length && values.length) {
      const newest = Math.max(...stamps.map((r) => Number(r.value[1])));
      last = { value: Number(values[0]!.value[1]), ageSeconds: Math.max(0, Math.round(nowMs / 1000 - newest)) };
    }
    checks.push({ backend: 'prometheus', series, optional: e.optional, arriving: last !== undefined, last });
  }
  return checks;
}

async function prometheusVector(baseUrl: string, query: string): Promise<{ value: [number, string] }[]> {
  const body = (await getJson(`${baseUrl.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(query)}`, 'Prometheus')) as { status: string; data?: { result: { value: [number, string] }[] } };
  if (body.status !== 'success' || !body.data) throw new RuntimeError(`Prometheus refused the query ${query}`);
  return body.data.result;
}

async function getJson(url: string, what: string): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new RuntimeError(`cannot reach ${what} at ${new URL(url).origin}: ${cause}`);
  }
  if (!response.ok) throw new RuntimeError(`${what} at ${new URL(url).origin} answered ${response.status} ${response.statusText}`);
  try {
    return await response.json();
  } catch {
    throw new RuntimeError(`${what} at ${new URL(url).origin} did not answer JSON (is it the right URL?)`);
  }
}
