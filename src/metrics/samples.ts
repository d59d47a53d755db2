/**
 * smartmeter's own metrics, one naming scheme for both outputs. A sample has a base name
 * (`published`, `lag_ms`); it is sent to Graphite as `<prefix>.<name>` (default prefix
 * `smartmeter.<command>.slot<N>`) and served to Prometheus as `smartmeter_<command>_<name>`,
 * with `_total` added to counters and the slot as a label. The README lists every name.
 */
export interface MetricSample {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  value: number;
}

/** Prometheus text exposition format (0.0.4). */
export function prometheusText(command: string, labels: Record<string, string>, samples: readonly MetricSample[]): string {
  const labelText = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`).join(',');
  const lines: string[] = [];
  for (const s of samples) {
    const name = prometheusName(command, s);
    lines.push(`# HELP ${name} ${s.help}`, `# TYPE ${name} ${s.type}`, `${name}${labelText ? `{${labelText}}` : ''} ${formatValue(s.value)}`);
  }
  return `${lines.join('\n')}\n`;
}

export function prometheusName(command: string, sample: Pick<MetricSample, 'name' | 'type'>): string {
  return `smartmeter_${command}_${sample.name}${sample.type === 'counter' ? '_total' : ''}`;
}

/** Carbon plaintext lines: `<prefix>.<name> <value> <epoch seconds>`. */
export function graphiteLines(prefix: string, samples: readonly MetricSample[], epochSeconds: number): string {
  return samples.map((s) => `${prefix}.${s.name} ${formatValue(s.value)} ${epochSeconds}\n`).join('');
}

function formatValue(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 1000) / 1000) : '0';
}
