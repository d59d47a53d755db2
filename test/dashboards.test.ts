// The Grafana files of the stack: valid JSON and YAML, data sources that the dashboards and the
// compose fragments agree on, and dashboards that only chart metrics smartmeter really emits.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { METRICS_COMMANDS, expectedSeries } from '../src/metrics/check.js';
import { ROOT, runCli } from './helpers/cli.js';

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
  const datasources = yaml.load(readFileSync(join(PROVISIONING, 'datasources', 'smartmeter.yml'), 'utf8')) as { datasources: { uid: string; type: string; url: string }[] };
  const uids = new Set(datasources.datasources.map((d) => d.uid));

  it('has one dashboard per command, each with unique panel ids and reference ids', () => {
    expect(dashboards.map((d) => d.json.uid).sort()).toEqual(['smartmeter-ingest', 'smartmeter-inject']);
    for (const { file, json } of dashboards) {
      const ids = json.panels.map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
      for (const panel of json.panels) expect(new Set(panel.targets.map((t) => t.refId)).size, `${file} panel ${panel.id}`).toBe(panel.targets.length);
    }
  });

  it('charts only series that inject and ingest emit, under the documented paths', () => {
    let checked = 0;
    for (const { file, json } of dashboards) {
      for (const panel of json.panels) {
        for (const { target } of panel.targets) {
          const paths = [...target.matchAll(/smartmeter\.([a-z]+)\.\$slot\.([a-z0-9_]+)/g)];
          expect(paths.length, `${file}: ${target}`).toBeGreaterThan(0);
          for (const [, command, name] of paths) {
            expect(EMITTED[command!], `${file}: unknown command in ${target}`).toBeDefined();
            expect(EMITTED[command!]!.has(name!), `${file}: ${command} emits no "${name}"`).toBe(true);
            checked += 1;
          }
        }
      }
      expect(json.templating.list[0]!.query).toMatch(/^smartmeter\.(inject|ingest)\.\*$/);
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('uses only data sources the provisioning defines, whose URLs the stack sets', () => {
    for (const { file, json } of dashboards) {
      for (const panel of json.panels) expect(uids.has(panel.datasource.uid), file).toBe(true);
      for (const variable of json.templating.list) expect(uids.has(variable.datasource.uid), file).toBe(true);
    }
    const variables = datasources.datasources.map((d) => /^\$\{([A-Z_]+)\}$/.exec(d.url)?.[1]);
    expect(variables).toEqual(['SMARTMETER_GRAPHITE_URL', 'SMARTMETER_PROMETHEUS_URL']);
    const compose = runCli(['combine', 'local', 'single', 'secrets', 'root_metrics', '--json']);
    expect(compose.status, compose.stderr).toBe(0);
    const environment = (JSON.parse(compose.stdout) as { services: Record<string, { environment: string[] }> }).services.grafana!.environment;
    for (const variable of variables) expect(environment.some((e) => e.startsWith(`${variable}=http://`)), variable).toBe(true);
  });

  it('is written out by combine --config-dir, file for file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-config-'));
    const r = runCli(['combine', 'local', 'single', 'secrets', 'root_metrics', '-o', join(dir, 'docker-compose-merge.yml'), '--config-dir', join(dir, 'config')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wrote 12 configuration files/); // Grafana 4, Telegraf 5, Prometheus 1, Graphite 2
    for (const { file } of dashboards) {
      expect(readFileSync(join(dir, 'config', 'grafana', 'provisioning', 'dashboards', 'json', file), 'utf8')).toBe(readFileSync(join(DASHBOARDS, file), 'utf8'));
    }
  });
});
