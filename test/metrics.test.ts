// smartmeter's own metrics: one naming scheme for Graphite and Prometheus, checked against a
// real carbon-cache (values read back from its Whisper files) and a real Prometheus (scraped,
// then queried through its HTTP API), both from the rig.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { graphiteLines, prometheusName, prometheusText } from '../src/metrics/samples.js';
import { parseListenAddress } from '../src/metrics/prometheus.js';
import { runCli } from './helpers/cli.js';
import { freePort, waitFor } from './helpers/net.js';
import { rigService } from './helpers/rig.js';

describe('metric names and formats', () => {
  const samples = [
    { name: 'published', type: 'counter' as const, help: 'Messages handed over.', value: 1234 },
    { name: 'lag_ms', type: 'gauge' as const, help: 'Lag.', value: 1.23456 },
  ];

  it('writes the Prometheus text format, counters with _total, the slot as a label', () => {
    expect(prometheusText('inject', { slot: '2' }, samples)).toBe([
      '# HELP smartmeter_inject_published_total Messages handed over.',
      '# TYPE smartmeter_inject_published_total counter',
      'smartmeter_inject_published_total{slot="2"} 1234',
      '# HELP smartmeter_inject_lag_ms Lag.',
      '# TYPE smartmeter_inject_lag_ms gauge',
      'smartmeter_inject_lag_ms{slot="2"} 1.235',
      '',
    ].join('\n'));
    expect(prometheusName('ingest', { name: 'written', type: 'counter' })).toBe('smartmeter_ingest_written_total');
  });

  it('writes carbon plaintext lines with the same base names', () => {
    expect(graphiteLines('smartmeter.inject.slot2', samples, 1_700_000_000)).toBe(
      'smartmeter.inject.slot2.published 1234 1700000000\nsmartmeter.inject.slot2.lag_ms 1.235 1700000000\n',
    );
  });

  it('metrics check refuses bad input and names an unreachable back end, in one line', async () => {
    const none = runCli(['metrics', 'check']);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/give --graphite-url, --prometheus-url or both/);
    expect(runCli(['metrics', 'check', '--prometheus-url', 'http://127.0.0.1:9', '--command', 'spark']).stderr).toMatch(/unknown command "spark"/);
    const closed = runCli(['metrics', 'check', '--graphite-url', `http://127.0.0.1:${await freePort()}`]);
    expect(closed.status).toBe(1);
    expect(closed.stderr.trim().split('\n')).toHaveLength(1);
    expect(closed.stderr).toMatch(/cannot reach Graphite at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });

  it('reads listen addresses, and refuses bad ones', () => {
    expect(parseListenAddress('9464', '--metrics-port')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListenAddress('0.0.0.0:9464', '--metrics-port')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(() => parseListenAddress('port', '--metrics-port')).toThrow(/--metrics-port: expected \[host:\]port, got "port"/);
  });
});

const graphite = rigService('graphite');
const prometheus = rigService('prometheus');
const nats = rigService('nats');

/** The values of a Whisper series over the last few minutes (None left out). */
function whisperValues(file: string): number[] {
  const r = spawnSync('whisper-fetch', [`--from=${Math.floor(Date.now() / 1000) - 600}`, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.split('\n').map((l) => l.trim().split(/\s+/)[1]).filter((v): v is string => v !== undefined && v !== 'None').map(Number);
}

describe.runIf(graphite && nats)('inject metrics in a real Graphite', () => {
  it('lands the counters in Whisper files with the right values', async () => {
    const root = `smartmeter.test${process.pid}x${Date.now() % 100_000}`;
    const prefix = `${root}.inject.slot1`; // the default scheme <root>.<command>.slot<N>, under a root of the test's own
    // The address as the stack's compose fragment passes it (the flag is tested in inject.test.ts).
    const r = runCli(['inject', '--rate', '1000', '--slack', '2s', '--duration', '3s', '-s', nats!.NATS_URL!, '--subject-prefix', `metrics${process.pid}.raw`,
      '--graphite-prefix', prefix], { env: { SMARTMETER_GRAPHITE: graphite!.GRAPHITE_PLAINTEXT! } });
    expect(r.status, r.stderr).toBe(0);
    const dir = join(graphite!.GRAPHITE_WHISPER_DIR!, ...prefix.split('.'));
    const published = await waitFor(async () => {
      if (!existsSync(join(dir, 'published.wsp'))) return undefined;
      const values = whisperValues(join(dir, 'published.wsp'));
      return values.includes(3000) ? values : undefined;
    }, 30_000, `the published series in ${dir}`);
    // Once a second while running, then the final figure: rising, ending at the total.
    expect(published.length).toBeGreaterThanOrEqual(2);
    expect(published.at(-1)).toBe(3000);
    expect([...published].sort((a, b) => a - b)).toEqual(published);
    await waitFor(async () => (existsSync(join(dir, 'rate_target.wsp')) && whisperValues(join(dir, 'rate_target.wsp')).includes(1000) ? true : undefined), 30_000, 'rate_target');

    // Stored with the stack's own schema and roll-up (templates/config/graphite, which the rig's carbon uses).
    const info = spawnSync('whisper-info', [join(dir, 'published.wsp')], { encoding: 'utf8' }).stdout;
    expect(info).toMatch(/aggregationMethod: max/);
    expect([...info.matchAll(/secondsPerPoint: (\d+)/g)].map((m) => Number(m[1]))).toEqual([1, 10, 60]);
    expect(spawnSync('whisper-info', [join(dir, 'lag_ms.wsp')], { encoding: 'utf8' }).stdout).toMatch(/aggregationMethod: average/);

    // metrics check reads the same series back through graphite-web's render API.
    const check = runCli(['metrics', 'check', '--graphite-url', graphite!.GRAPHITE_URL!, '--prefix', root, '--command', 'inject', '--window', '5m', '--json']);
    expect(check.status, check.stderr).toBe(0);
    const result = JSON.parse(check.stdout) as { missing: number; checks: { series: string; arriving: boolean; optional: boolean; last?: { value: number } }[] };
    expect(result.missing).toBe(0);
    expect(result.checks.find((c) => c.series === `${root}.inject.*.published`)!.last!.value).toBe(3000);
    expect(result.checks.filter((c) => c.optional).map((c) => c.arriving)).toEqual([false, false]); // JetStream latency: not a JetStream run
    const ingest = runCli(['metrics', 'check', '--graphite-url', graphite!.GRAPHITE_URL!, '--prefix', root, '--command', 'ingest']);
    expect(ingest.status).toBe(1);
    expect(ingest.stdout).toMatch(new RegExp(`^MISSING +graphite +${root.replace('.', '\\.')}\\.ingest\\.\\*\\.written`, 'm'));
    expect(ingest.stderr).toMatch(/10 of 10 series are not arriving/); // every ingest metric of the README
    rmSync(join(graphite!.GRAPHITE_WHISPER_DIR!, ...root.split('.')), { recursive: true, force: true });
  });
});

describe.runIf(prometheus && nats)('inject metrics scraped by a real Prometheus', () => {
  it('serves /metrics while running, and Prometheus stores the series', async () => {
    const port = await freePort();
    const target = join(prometheus!.PROMETHEUS_TARGETS_DIR!, `inject-${process.pid}-${port}.json`);
    mkdirSync(prometheus!.PROMETHEUS_TARGETS_DIR!, { recursive: true });
    writeFileSync(target, JSON.stringify([{ targets: [`127.0.0.1:${port}`], labels: { test: 'inject' } }]));
    try {
      const r = runCli(['inject', '--rate', '1000', '--slack', '2s', '--duration', '6s', '-s', nats!.NATS_URL!, '--subject-prefix', `metrics${process.pid}.raw`, '--metrics-port', String(port), '--slot', '3']);
      expect(r.status, r.stderr).toBe(0);
      const query = async (q: string) => {
        const body = (await (await fetch(`${prometheus!.PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as {
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        return body.data.result;
      };
      const published = await query(`max_over_time(smartmeter_inject_published_total{instance="127.0.0.1:${port}"}[5m])`);
      expect(published).toHaveLength(1);
      expect(published[0]!.metric.slot).toBe('3');
      expect(Number(published[0]!.value[1])).toBeGreaterThan(1000);
      expect(Number(published[0]!.value[1])).toBeLessThanOrEqual(6000);
      const target = await query(`max_over_time(smartmeter_inject_rate_target{instance="127.0.0.1:${port}"}[5m])`);
      expect(Number(target[0]!.value[1])).toBe(1000);
      const check = runCli(['metrics', 'check', '--prometheus-url', prometheus!.PROMETHEUS_URL!, '--command', 'inject', '--window', '5m']);
      expect(check.status, check.stderr).toBe(0);
      expect(check.stdout).toMatch(/^ok +prometheus +smartmeter_inject_published_total +last \d+/m);
    } finally {
      rmSync(target, { force: true });
    }
  }, 60_000);
});
