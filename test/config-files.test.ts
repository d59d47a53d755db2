// The configuration files `combine --config-dir` (and `up`) write: Handlebars templates rendered
// with the stack's values, the other files copied. Prometheus scrapes only the services the stack
// runs and its file passes the real promtool; no credential reaches a file in secrets mode; file
// modes; a template error names the template; the chart's copies are the templates rendered with
// the chart's context (Telegraf's and Grafana's runs are in telegraf.test.ts and dashboards.test.ts).
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { CHART_CONFIG_CONTEXT, renderConfigFiles, scrapeJobs, writeConfigFiles } from '../src/combine/config-files.js';
import { ROOT, runCli, runTool } from './helpers/cli.js';
import { rigService } from './helpers/rig.js';

const TEMPLATES = join(ROOT, 'templates', 'config');
const CHART_FILES = join(ROOT, 'templates', 'helm', 'smart-meter', 'files', 'config');
const FULL_STACK = ['root_metrics', 'inject', 'inject_metrics', 'streaming_metrics', 'prediction_metrics', 'cassandra_inject', 'cassandra_inject_metrics', 'monitoring'];

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** `smartmeter combine <mode> <targets> --config-dir`: the CLI result and the directories. */
function combine(secretMode: string, targets: string[], sets: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'smartmeter-config-files-'));
  const result = runCli(['combine', 'local', 'single', secretMode, ...targets, ...sets.flatMap((s) => ['--set', s]), '-o', join(dir, 'stack.yml'), '--config-dir', join(dir, 'config')]);
  return { result, dir, config: join(dir, 'config') };
}

interface PrometheusConfig {
  global: { scrape_interval: string };
  scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
}

const prometheusJobs = (config: string) => {
  const parsed = yaml.load(readFileSync(join(config, 'prometheus', 'prometheus.yml'), 'utf8')) as PrometheusConfig;
  return Object.fromEntries(parsed.scrape_configs.map((job) => [job.job_name, job.static_configs.flatMap((c) => c.targets)]));
};

describe('Prometheus configuration', () => {
  it('scrapes the services of the stack, each at its metrics port', () => {
    const { result, config, dir } = combine('secrets', FULL_STACK);
    expect(result.status, result.stderr).toBe(0);
    expect(prometheusJobs(config)).toEqual({
      prometheus: ['localhost:9090'],
      nats: ['prometheus_nats_exporter:7777'],
      smartmeter: ['cassandra_inject:9464', 'cassandra_stats:9465', 'inject:9464'],
    });
    // Every target is a service of the compose file written next to it.
    const services = Object.keys((yaml.load(readFileSync(join(dir, 'stack.yml'), 'utf8')) as { services: Record<string, unknown> }).services);
    for (const target of [...prometheusJobs(config).nats!, ...prometheusJobs(config).smartmeter!]) expect(services).toContain(target.split(':')[0]);
  });

  it('has no job for services the stack does not run', () => {
    const withoutMetrics = combine('secrets', ['inject']);
    expect(withoutMetrics.result.status, withoutMetrics.result.stderr).toBe(0);
    expect(prometheusJobs(withoutMetrics.config)).toEqual({ prometheus: ['localhost:9090'] });
    // The injector without inject_metrics serves nothing to scrape.
    const platformOnly = combine('secrets', ['root_metrics', 'inject']);
    expect(platformOnly.result.status, platformOnly.result.stderr).toBe(0);
    expect(prometheusJobs(platformOnly.config)).toEqual({ prometheus: ['localhost:9090'], nats: ['prometheus_nats_exporter:7777'] });
  });

  it('reads the targets from --metrics-port and SMARTMETER_METRICS_PORT, in either form of environment', () => {
    expect(
      scrapeJobs({
        services: {
          a: { command: ['cassandra', 'stats', '--metrics-port', '0.0.0.0:9465'] },
          b: { environment: ['SMARTMETER_METRICS_PORT=9999'] },
          c: { environment: { SMARTMETER_METRICS_PORT: '127.0.0.1:9464' } },
          d: { environment: ['SMARTMETER_GRAPHITE=graphite:2003'] },
        },
      }),
    ).toEqual([{ name: 'smartmeter', targets: ['a:9465', 'b:9999', 'c:9464'] }]);
  });

  const prometheus = rigService('prometheus');
  it.runIf(prometheus)('passes promtool check config (the rig\'s Prometheus package), with and without jobs', () => {
    for (const targets of [FULL_STACK, ['inject']]) {
      const { result, config } = combine('secrets', targets, ['PROMETHEUS_SCRAPE_INTERVAL=15s']);
      expect(result.status, result.stderr).toBe(0);
      const check = runTool('promtool', ['check', 'config', join(config, 'prometheus', 'prometheus.yml')]);
      expect(check, 'promtool is installed with the rig\'s prometheus').toBeDefined();
      expect(check!.status, check!.stdout + check!.stderr).toBe(0);
      expect(check!.stdout + check!.stderr).toMatch(/SUCCESS/);
      expect((yaml.load(readFileSync(join(config, 'prometheus', 'prometheus.yml'), 'utf8')) as PrometheusConfig).global.scrape_interval).toBe('15s');
    }
  });
});

describe('credentials and file modes', () => {
  const MARKERS = ['Nats-User-Marker', 'Nats-Pass-Marker-7', 'Grafana-Admin-Marker'];
  const SETS = [`NATS_USERNAME=${MARKERS[0]}`, `NATS_PASSWORD=${MARKERS[1]}`, `GF_SECURITY_ADMIN_PASSWORD=${MARKERS[2]}`];

  for (const mode of ['secrets', 'no_secrets']) {
    it(`${mode}: no rendered file holds a credential, and every file is 0644`, () => {
      const { result, config } = combine(mode, FULL_STACK, SETS);
      expect(result.status, result.stderr).toBe(0);
      const files = filesUnder(config);
      expect(files).toHaveLength(14);
      for (const file of files) {
        const text = readFileSync(join(config, file), 'utf8');
        for (const marker of MARKERS) expect(text, file).not.toContain(marker);
        expect(statSync(join(config, file)).mode & 0o777, file).toBe(0o644);
      }
      // The Telegraf agents name the credentials; their environment (secret files or compose) fills them.
      expect(readFileSync(join(config, 'telegraf', 'max_voltage.conf'), 'utf8')).toContain('password = "${NATS_PASSWORD}"');
    });
  }

  // A URL with a password is the user's own choice, in either mode (the compose file follows the
  // same rule): the files that hold it are private, the others stay readable by the containers.
  for (const mode of ['no_secrets', 'secrets'] as const) {
    it(`${mode}: a NATS URL with a password makes the files that hold it 0600, and only those`, () => {
      const { result, config } = combine(mode, FULL_STACK, ['NATS_URI=nats://bob:Url-Pass-Marker@nats:4222']);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).not.toContain('Url-Pass-Marker');
      const holding = filesUnder(config).filter((file) => readFileSync(join(config, file), 'utf8').includes('Url-Pass-Marker'));
      expect(holding).toEqual(['telegraf/max_voltage.conf', 'telegraf/prediction.conf', 'telegraf/temperature.conf']);
      for (const file of filesUnder(config)) expect(statSync(join(config, file)).mode & 0o777, file).toBe(holding.includes(file) ? 0o600 : 0o644);
    });
  }
});

describe('templates', () => {
  it('a name the context does not have fails the render, naming the template', () => {
    const source = mkdtempSync(join(tmpdir(), 'smartmeter-config-src-'));
    mkdirSync(join(source, 'x'));
    const target = mkdtempSync(join(tmpdir(), 'smartmeter-config-out-'));
    writeFileSync(join(source, 'x', 'bad.conf.hbs'), 'debug = {{telegraf.debugg}}\n');
    expect(() => writeConfigFiles(source, target, CHART_CONFIG_CONTEXT)).toThrow(/cannot render x\/bad\.conf\.hbs: "debugg" not defined/);
    // As a helper's argument too (Handlebars' strict mode does not check those).
    writeFileSync(join(source, 'x', 'bad.conf.hbs'), '# line 1\ninterval = {{json telegraf.intervall}}\n');
    expect(() => writeConfigFiles(source, target, CHART_CONFIG_CONTEXT)).toThrow(/cannot render x\/bad\.conf\.hbs: \{\{json\}\} of a name the context does not have \(line 2, column 12\)/);
    expect(readdirSync(target)).toEqual([]);
  });

  it('copies a file that is not a template as it is, braces included', () => {
    const source = mkdtempSync(join(tmpdir(), 'smartmeter-config-src-'));
    writeFileSync(join(source, 'panel.json'), '{"legendFormat": "{{instance}}"}\n');
    const files = renderConfigFiles(source, CHART_CONFIG_CONTEXT);
    expect(files).toEqual([{ path: 'panel.json', content: '{"legendFormat": "{{instance}}"}\n', mode: 0o644 }]);
  });

  it('the chart carries every template rendered with the chart\'s context (its own prometheus.yml aside), and no template', () => {
    const expected = renderConfigFiles(TEMPLATES, CHART_CONFIG_CONTEXT).filter((f) => !f.path.startsWith('prometheus/'));
    expect(filesUnder(CHART_FILES)).toEqual(expected.map((f) => f.path).sort());
    for (const file of expected) expect(readFileSync(join(CHART_FILES, file.path), 'utf8'), file.path).toBe(file.content);
    const datasources = yaml.load(readFileSync(join(CHART_FILES, 'grafana', 'provisioning', 'datasources', 'smartmeter.yml'), 'utf8')) as { datasources: { url: string }[] };
    // grafana.yaml sets both on the container; Grafana expands them.
    expect(datasources.datasources.map((d) => d.url)).toEqual(['${SMARTMETER_GRAPHITE_URL}', '${SMARTMETER_PROMETHEUS_URL}']);
  });
});
