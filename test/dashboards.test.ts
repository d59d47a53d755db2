// The Grafana files of the stack: valid JSON and YAML, data sources that the dashboards and the
// compose fragments agree on, and dashboards that only chart metrics smartmeter really emits.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { METRICS_COMMANDS, expectedSeries } from '../src/metrics/check.js';
import { ROOT, runCli } from './helpers/cli.js';
import { natsDashboardFields } from './helpers/dashboards.js';

const PROVISIONING = join(ROOT, 'templates', 'config', 'grafana', 'provisioning');
const DASHBOARDS = join(PROVISIONING, 'dashboards', 'json');

interface Dashboard {
  uid: string;
  title: string;
  panels: { id: number; datasource: { uid: string }; targets: { refId: string; target: string }[] }[];
  templating: { list: { name: string; query: string; datasource: { uid: string } }[] };
}

const dashboards = readdirSync(DASHBOARDS).map((file) => ({ file, json: JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) as Dashboard }));


/** The base names each command emits (every optional one included), as `metrics check` expects them. */
const EMITTED: Record<string, Set<string>> = Object.fromEntries(
  METRICS_COMMANDS.map((command) => [command, new Set(expectedSeries([command]).map((e) => e.sample.name))]),
);

describe('Grafana provisioning', () => {
  // The data sources as combine --config-dir renders them for a stack (a template in templates/config).
  const dir = mkdtempSync(join(tmpdir(), 'smartmeter-config-'));
  const written = runCli(['combine', 'local', 'single', 'secrets', 'root_metrics', '-o', join(dir, 'docker-compose-merge.yml'), '--config-dir', join(dir, 'config')]);
  const rendered = join(dir, 'config', 'grafana', 'provisioning');
  const datasources = written.status === 0
    ? (yaml.load(readFileSync(join(rendered, 'datasources', 'smartmeter.yml'), 'utf8')) as { datasources: { uid: string; type: string; url: string }[] })
    : { datasources: [] };
  const uids = new Set(datasources.datasources.map((d) => d.uid));

  it('has dashboards for inject, ingest, NATS and Cassandra, each with unique panel ids and reference ids', () => {
    expect(dashboards.map((d) => d.json.uid).sort()).toEqual(['smartmeter-cassandra', 'smartmeter-ingest', 'smartmeter-inject', 'smartmeter-nats']);
    for (const { file, json } of dashboards) {
      const ids = json.panels.map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
      for (const panel of json.panels) expect(new Set(panel.targets.map((t) => t.refId)).size, `${file} panel ${panel.id}`).toBe(panel.targets.length);
    }
  });

  it('charts only series that smartmeter emits, under the documented paths', () => {
    let checked = 0;
    const emitted = (command: string, name: string, where: string) => {
      expect(EMITTED[command], `${where}: unknown command`).toBeDefined();
      expect(EMITTED[command]!.has(name), `${where}: ${command} emits no "${name}"`).toBe(true);
      checked += 1;
    };
    for (const { file, json } of dashboards.filter((d) => d.json.uid !== 'smartmeter-nats')) {
      for (const panel of json.panels) {
        for (const { target } of panel.targets) {
          const paths = [
            ...[...target.matchAll(/smartmeter\.(inject|ingest)\.\$slot\.([a-z0-9_]+)/g)].map(([, command, name]) => [command!, name!]),
            ...[...target.matchAll(/smartmeter\.cassandra\.\$keyspace\.\$table\.([a-z0-9_]+)/g)].map(([, name]) => ['cassandra', name!]),
          ];
          expect(paths.length, `${file}: ${target}`).toBeGreaterThan(0);
          for (const [command, name] of paths) emitted(command!, name!, `${file}: ${target}`);
        }
      }
      expect(json.templating.list[0]!.query).toMatch(/^smartmeter\.(inject|ingest|cassandra)\.\*$/);
    }
    expect(checked).toBeGreaterThan(25);
    // NATS series come from Telegraf's nats input: telegraf.test.ts runs it and finds every one in Whisper.
    const nats = natsDashboardFields();
    expect(nats.matched).toBe(nats.targets);
    expect(nats.fields.length).toBeGreaterThan(5);
  });

  it('uses only data sources the provisioning defines, at the URLs of the stack\'s services', () => {
    expect(written.status, written.stderr).toBe(0);
    for (const { file, json } of dashboards) {
      for (const panel of json.panels) expect(uids.has(panel.datasource.uid), file).toBe(true);
      for (const variable of json.templating.list) expect(uids.has(variable.datasource.uid), file).toBe(true);
    }
    expect(datasources.datasources.map((d) => [d.uid, d.type, d.url])).toEqual([
      ['smartmeter-graphite', 'graphite', 'http://graphite:80'],
      ['smartmeter-prometheus', 'prometheus', 'http://prometheus:9090'],
    ]);
    // The services of those names are in the stack.
    const stack = yaml.load(readFileSync(join(dir, 'docker-compose-merge.yml'), 'utf8')) as { services: Record<string, unknown> };
    expect(Object.keys(stack.services)).toEqual(expect.arrayContaining(['graphite', 'prometheus', 'grafana']));
    // Another Graphite host (METRICS_GRAPHITE_NAME) moves the data source with it.
    const other = mkdtempSync(join(tmpdir(), 'smartmeter-config-'));
    const moved = runCli(['combine', 'local', 'single', 'secrets', 'root_metrics', '--set', 'METRICS_GRAPHITE_NAME=carbon', '-o', join(other, 'stack.yml'), '--config-dir', join(other, 'config')]);
    expect(moved.status, moved.stderr).toBe(0);
    const movedSources = yaml.load(readFileSync(join(other, 'config', 'grafana', 'provisioning', 'datasources', 'smartmeter.yml'), 'utf8')) as typeof datasources;
    expect(movedSources.datasources[0]!.url).toBe('http://carbon:80');
  });

  it('is written out by combine --config-dir, file for file, and the dashboard provider finds the dashboards', () => {
    expect(written.status, written.stderr).toBe(0);
    expect(written.stderr).toMatch(/wrote 14 configuration files/); // Grafana 6, Telegraf 5, Prometheus 1, Graphite 2
    for (const { file } of dashboards) {
      expect(readFileSync(join(rendered, 'dashboards', 'json', file), 'utf8')).toBe(readFileSync(join(DASHBOARDS, file), 'utf8'));
    }
    const provider = yaml.load(readFileSync(join(rendered, 'dashboards', 'smartmeter.yml'), 'utf8')) as { providers: { type: string; options: { path: string } }[] };
    // metrics.yml mounts the provisioning directory at /etc/grafana/provisioning.
    expect(provider.providers[0]).toMatchObject({ type: 'file', options: { path: '/etc/grafana/provisioning/dashboards/json' } });
  });
});
