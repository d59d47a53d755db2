/**
 * smartmeter's own metrics, one naming scheme for both outputs. A sample has a base name
 * (`published`, `lag_ms`); it is sent to Graphite as `<prefix>.<name>` (default prefix
 * `smartmeter.<command>.slot<N>`) and served to Prometheus as `smartmeter_<command>_<name>`,
 * with `_total` added to counters and the slot as a label. A sample about one thing of many (a
 * Cassandra table) carries labels: in Graphite their values become path nodes before the name
 * (`<prefix>.<keyspace>.<table>.<name>`), in Prometheus they are labels. The README lists every name.
 */
export interface MetricSample {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  value: number;
  labels?: Record<string, string>;
}

/** Prometheus text exposition format (0.0.4). */
export function prometheusText(command: string, labels: Record<string, string>, samples: readonly MetricSample[]): string {
  // One HELP/TYPE header per name, its series (one per label set) under it.
  const byName = new Map<string, MetricSample[]>();
  for (const s of samples) {
    const name = prometheusName(command, s);
    byName.set(name, [...(byName.get(name) ?? []), s]);
  }
  const lines: string[] = [];
  for (const [name, series] of byName) {
    lines.push(`# HELP ${name} ${series[0]!.help}`, `# TYPE ${name} ${series[0]!.type}`);
    for (const s of series) {
      const labelText = Object.entries({ ...labels, ...s.labels }).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`).join(',');
      lines.push(`${name}${labelText ? `{${labelText}}` : ''} ${formatValue(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function prometheusName(command: string, sample: Pick<MetricSample, 'name' | 'type'>): string {
  return `smartmeter_${command}_${sample.name}${sample.type === 'counter' ? '_total' : ''}`;
}

/** Carbon plaintext lines: `<prefix>.<name> <value> <epoch seconds>`. */
export function graphiteLines(prefix: string, samples: readonly MetricSample[], epochSeconds: number): string {
  return samples.map((s) => `${graphitePath(prefix, s)} ${formatValue(s.value)} ${epochSeconds}\n`).join('');
}

/** `<prefix>.<label values…>.<name>`; a label value's dots and spaces would split or break the path. */
export function graphitePath(prefix: string, sample: Pick<MetricSample, 'name' | 'labels'>): string {
  const nodes = Object.values(sample.labels ?? {}).map((v) => v.replace(/[.\s]/g, '_'));
  return [prefix, ...nodes, sample.name].join('.');
}

function formatValue(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 1000) / 1000) : '0';
}
