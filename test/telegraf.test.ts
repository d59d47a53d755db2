// The stack's Telegraf configurations: Handlebars templates (templates/config/telegraf/*.conf.hbs)
// that `combine --config-dir` renders with the stack's values. Every file a fragment runs is
// written, parses as TOML and points at the stack's Graphite and NATS; then a real Telegraf (built
// by the rig) loads the files combine wrote for the rig's hosts, reads the rig's NATS and lands the
// values in carbon's Whisper files. The chart's copies (environment references) load too.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers/cli.js';
import { natsDashboardFields } from './helpers/dashboards.js';
import { freePort, waitFor } from './helpers/net.js';
import { rigService } from './helpers/rig.js';

const TEMPLATES = join(ROOT, 'templates', 'config', 'telegraf');
const CHART_COPIES = join(ROOT, 'templates', 'helm', 'smart-meter', 'files', 'config', 'telegraf');
const METRICS_STACK = ['root_metrics', 'streaming_metrics', 'prediction_metrics', 'cassandra_inject', 'cassandra_inject_metrics'];

/** Runs `smartmeter combine … --config-dir` and returns the compose document and the Telegraf directory it wrote. */
function combineWithConfig(sets: Record<string, string> = {}, secretMode = 'secrets'): { services: Record<string, Service>; telegrafDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'smartmeter-telegraf-'));
  const args = ['combine', 'local', 'single', secretMode, ...METRICS_STACK, '--json', '-o', join(dir, 'stack.json'), '--config-dir', join(dir, 'config')];
  const r = runCli([...args, ...Object.entries(sets).flatMap(([key, value]) => ['--set', `${key}=${value}`])]);
  expect(r.status, r.stderr).toBe(0);
  const { services } = JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as { services: Record<string, Service> };
  return { services, telegrafDir: join(dir, 'config', 'telegraf') };
}

interface Service {
  entrypoint?: string[];
  command?: string[];
  environment?: string[];
}

interface TelegrafToml {
  agent: { interval: string; flush_interval: string; debug: boolean; quiet: boolean };
  inputs: Record<string, { servers?: string[]; server?: string; username?: string; password?: string; tags?: Record<string, string> }[]>;
  outputs: { graphite: { servers: string[]; prefix: string }[] };
}

describe('Telegraf configurations of the stack', () => {
  it('are written for every Telegraf service, parse as TOML and hold the stack\'s values', () => {
    const { services, telegrafDir } = combineWithConfig();
    const telegrafServices = Object.entries(services).filter(([name]) => name.startsWith('telegraf'));
    expect(telegrafServices.length).toBeGreaterThanOrEqual(5);
    const used = new Set<string>();
    for (const [name, service] of telegrafServices) {
      const commandLine = [...(service.entrypoint ?? []), ...(service.command ?? [])].join(' ');
      const file = /\/etc\/telegraf\/smartmeter\/([a-z_]+\.conf)/.exec(commandLine)?.[1];
      expect(file, `${name}: ${commandLine}`).toBeDefined();
      used.add(file!);
      const text = readFileSync(join(telegrafDir, file!), 'utf8');
      expect(text, file).not.toMatch(/\{\{|\}\}/); // rendered, not a template
      const toml = parse(text) as unknown as TelegrafToml;
      // configuration-telegraf.properties and configuration-application.properties.
      expect(toml.agent.interval, file).toBe('10s');
      expect(toml.agent.flush_interval, file).toBe('10s');
      expect(toml.agent.debug, file).toBe(false);
      expect(toml.agent.quiet, file).toBe(true);
      expect(Object.keys(toml.inputs).length, file).toBeGreaterThan(0);
      expect(toml.outputs.graphite[0]!.servers, file).toEqual(['graphite:2003']);
      expect(toml.outputs.graphite[0]!.prefix, file).toBe('smartmeter');
      for (const consumer of toml.inputs.nats_consumer ?? []) {
        expect(consumer.servers, file).toEqual(['nats://nats:4222']);
        // Telegraf fills these from the environment the service gets (secret files, here).
        expect([consumer.username, consumer.password], file).toEqual(['${NATS_USERNAME}', '${NATS_PASSWORD}']);
        expect(service.environment, name).toEqual(expect.arrayContaining(['NATS_USERNAME_FILE=/run/secrets/nats_username_secret']));
      }
      for (const input of toml.inputs.nats ?? []) {
        expect(input.server, file).toBe('http://nats:8222');
        expect(input.tags, file).toEqual({ instance: 'nats' });
      }
      // The compose stack writes to Graphite only; the Prometheus output is for Kubernetes.
      expect(commandLine, name).toMatch(/--output-filter graphite /);
    }
    const templates = readdirSync(TEMPLATES).map((f) => f.replace(/\.hbs$/, ''));
    expect([...used].sort()).toEqual(templates.sort()); // and no template is left unused
    expect(readdirSync(telegrafDir).sort()).toEqual(templates.sort());
  });

  it('follow the properties: --set of an interval, a host or a URL changes every file', () => {
    const { telegrafDir } = combineWithConfig({
      TELEGRAF_INTERVAL: '3s', TELEGRAF_DEBUG: 'true', METRICS_GRAPHITE_NAME: 'carbon', METRICS_GRAPHITE_TCP_PORT: '2103',
      TELEGRAF_GRAPHITE_PREFIX: 'sm.test', NATS_NAME: 'bus', NATS_URI: 'nats://bus-0.bus:4222',
    });
    for (const file of readdirSync(telegrafDir)) {
      const toml = parse(readFileSync(join(telegrafDir, file), 'utf8')) as unknown as TelegrafToml;
      expect([toml.agent.interval, toml.agent.debug], file).toEqual(['3s', true]);
      expect(toml.outputs.graphite[0], file).toMatchObject({ servers: ['carbon:2103'], prefix: 'sm.test' });
      for (const consumer of toml.inputs.nats_consumer ?? []) expect(consumer.servers, file).toEqual(['nats://bus-0.bus:4222']);
      for (const input of toml.inputs.nats ?? []) expect([input.server, input.tags?.instance], file).toEqual(['http://bus:8222', 'bus']);
    }
  });

  it('refuses a debug flag that TOML cannot read, naming the property', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-telegraf-'));
    const r = runCli(['combine', 'local', 'single', 'secrets', 'root_metrics', '--set', 'TELEGRAF_DEBUG=yes', '-o', join(dir, 'stack.yml'), '--config-dir', join(dir, 'config')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/TELEGRAF_DEBUG must be true or false, got "yes"/);
    expect(existsSync(join(dir, 'config'))).toBe(false);
  });

  it('ship in the chart as environment references the chart\'s containers set', () => {
    expect(readdirSync(CHART_COPIES).sort()).toEqual(readdirSync(TEMPLATES).map((f) => f.replace(/\.hbs$/, '')).sort());
    const chart = readFileSync(join(ROOT, 'templates', 'helm', 'smart-meter', 'templates', 'telegraf.yaml'), 'utf8');
    for (const file of readdirSync(CHART_COPIES)) {
      const text = readFileSync(join(CHART_COPIES, file), 'utf8');
      const names = new Set([...text.matchAll(/\$\{([A-Z_]+)(?::-[^}]*)?\}/g)].map((m) => m[1]!));
      expect(names.has('TELEGRAF_INTERVAL'), file).toBe(true);
      for (const name of names) {
        // The NATS sidecar's variables are set in nats.yaml; the credentials through sm.natsCredentialsEnv.
        if (['NATS_MONITOR_URL', 'NATS_INSTANCE', 'NATS_USERNAME', 'NATS_PASSWORD'].includes(name)) continue;
        expect(chart, `${file}: ${name}`).toContain(`name: ${name},`);
      }
    }
  });
});

const telegraf = rigService('telegraf');
const nats = rigService('nats');
const graphite = rigService('graphite');

/** The stack's values pointed at the rig (--set), as a user would aim a stack at other hosts. */
function rigSets(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  const [graphiteHost, graphitePort] = graphite!.GRAPHITE_PLAINTEXT!.split(':');
  const monitor = new URL(nats!.NATS_MONITOR_URL!);
  return {
    TELEGRAF_INTERVAL: '1s', TELEGRAF_INPUT_TIMEOUT: '5s', TELEGRAF_GRAPHITE_PREFIX: prefix,
    METRICS_GRAPHITE_NAME: graphiteHost!, METRICS_GRAPHITE_TCP_PORT: graphitePort!,
    // One path node for the server (localhost, not 127.0.0.1, whose dots Graphite would split).
    NATS_NAME: 'localhost', NATS_MONITORING_PORT: monitor.port, NATS_URI: nats!.NATS_AUTH_URL!,
    ...extra,
  };
}

describe.runIf(telegraf && nats && graphite)('a real Telegraf with the stack\'s configurations', () => {
  /** `telegraf --test` of one file: it must load (a removed or misspelt option fails the load). */
  const expectLoads = (file: string, env: Record<string, string>) => {
    const r = spawnSync(telegraf!.TELEGRAF!, ['--config', file, '--test', '--test-wait', '0'], { env: { PATH: process.env.PATH!, ...env }, encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr, file).toMatch(/Loading config/);
    expect(r.stderr, file).not.toMatch(/loading config file .* failed/);
    // Inputs may fail to gather here (no Docker socket): only such errors are allowed.
    if (r.status !== 0) expect(r.stderr, file).toMatch(/\[inputs\.[a-z_]+\] Error in plugin|Starting input inputs\./);
  };

  it('loads every file combine wrote, and every copy in the chart with the environment the chart sets', () => {
    const { telegrafDir } = combineWithConfig(rigSets('smartmeter.loadcheck', { NATS_URI: nats!.NATS_URL! }));
    for (const file of readdirSync(telegrafDir)) expectLoads(join(telegrafDir, file), {});
    for (const file of readdirSync(CHART_COPIES)) {
      expectLoads(join(CHART_COPIES, file), {
        TELEGRAF_INTERVAL: '1s', TELEGRAF_INPUT_TIMEOUT: '2s', TELEGRAF_DEBUG: 'false', TELEGRAF_QUIET: 'true',
        GRAPHITE_SERVER: graphite!.GRAPHITE_PLAINTEXT!, GRAPHITE_PREFIX: 'smartmeter.loadcheck', NATS_URI: nats!.NATS_URL!,
        NATS_MONITOR_URL: nats!.NATS_MONITOR_URL!, NATS_INSTANCE: 'nats',
      });
    }
  });

  it('reads the streaming app\'s JSON from NATS and writes it to Graphite, the credentials from its environment', async () => {
    const prefix = `smartmeter.telegraf${process.pid}x${Date.now() % 100_000}`;
    const { telegrafDir } = combineWithConfig(rigSets(prefix));
    const conf = join(telegrafDir, 'max_voltage.conf');
    // The server with authentication, as the stack's NATS is; what the entrypoint exports from the secret files.
    const env = { PATH: process.env.PATH!, NATS_USERNAME: readFileSync(nats!.NATS_AUTH_USER_FILE!, 'utf8').trim(), NATS_PASSWORD: readFileSync(nats!.NATS_AUTH_PASSWORD_FILE!, 'utf8').trim() };
    const check = spawnSync(telegraf!.TELEGRAF!, ['--config', conf, '--test', '--test-wait', '1'], { env, encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);

    const agent = spawn(telegraf!.TELEGRAF!, ['--config', conf], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    agent.stderr.on('data', (c) => (log += c));
    const nc = await connect({ servers: nats!.NATS_AUTH_URL!, user: env.NATS_USERNAME, pass: env.NATS_PASSWORD });
    try {
      const file = join(graphite!.GRAPHITE_WHISPER_DIR!, ...prefix.split('.'), 'max_voltage', 'voltage.wsp');
      await waitFor(async () => {
        // What the streaming app publishes: {"epoch": E, "voltage": V} (UTF-8 JSON).
        nc.publish('smartmeter.extract.voltage.max', new TextEncoder().encode(JSON.stringify({ epoch: 1_705_298_400, voltage: 117.5 })));
        await nc.flush();
        if (!existsSync(file)) return undefined;
        const fetched = spawnSync('whisper-fetch', [`--from=${Math.floor(Date.now() / 1000) - 300}`, file], { encoding: 'utf8' }).stdout;
        return fetched.split('\n').some((line) => line.trim().endsWith('117.500000')) ? true : undefined;
      }, 40_000, `max_voltage in ${file} (telegraf log: ${log.slice(-500)})`);
    } finally {
      agent.kill('SIGTERM');
      await nc.close();
      rmSync(join(graphite!.GRAPHITE_WHISPER_DIR!, ...prefix.split('.')), { recursive: true, force: true });
    }
  }, 60_000);

  it('reads the NATS monitoring endpoint and lands every field the NATS dashboard charts in Graphite', async () => {
    const prefix = `smartmeter.telegraf${process.pid}y${Date.now() % 100_000}`;
    const { telegrafDir } = combineWithConfig(rigSets(prefix));
    const agent = spawn(telegraf!.TELEGRAF!, ['--config', join(telegrafDir, 'nats.conf')], { env: { PATH: process.env.PATH! }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    agent.stderr.on('data', (c) => (log += c));
    const root = join(graphite!.GRAPHITE_WHISPER_DIR!, ...prefix.split('.'));
    try {
      // <prefix>.nats.<instance>.<field>: one directory per server, named as the stack names it (NATS_NAME).
      const server = await waitFor(async () => {
        const dirs = existsSync(join(root, 'nats')) ? readdirSync(join(root, 'nats')) : [];
        return dirs.length === 1 && existsSync(join(root, 'nats', dirs[0]!, 'in_msgs.wsp')) ? dirs[0] : undefined;
      }, 40_000, `nats series under ${root} (telegraf log: ${log.slice(-500)})`);
      expect(server).toBe('localhost');
      const { fields } = natsDashboardFields();
      await waitFor(async () => (fields.every((f) => existsSync(join(root, 'nats', server, `${f}.wsp`))) ? true : undefined), 20_000,
        `every NATS dashboard field (${fields.join(', ')}) in ${join(root, 'nats', server)}`);
    } finally {
      agent.kill('SIGTERM');
      rmSync(root, { recursive: true, force: true });
    }
  }, 90_000);

  it('serves the same figures to Prometheus with --output-filter prometheus_client (the Kubernetes way)', async () => {
    const port = await freePort();
    const { telegrafDir } = combineWithConfig(rigSets('unused', { TELEGRAF_PROMETHEUS_PORT: String(port), METRICS_GRAPHITE_NAME: '127.0.0.1', METRICS_GRAPHITE_TCP_PORT: '9' }));
    const agent = spawn(telegraf!.TELEGRAF!, ['--output-filter', 'prometheus_client', '--config', join(telegrafDir, 'nats.conf')], { env: { PATH: process.env.PATH! }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    agent.stderr.on('data', (c) => (log += c));
    try {
      const text = await waitFor(async () => {
        const response = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
        const body = response?.ok ? await response.text() : '';
        return /^nats_in_msgs\{/m.test(body) ? body : undefined;
      }, 40_000, `nats_in_msgs on :${port} (telegraf log: ${log.slice(-500)})`);
      expect(text).toMatch(/^nats_in_msgs\{instance="localhost"\} \d+/m);
      expect(log).not.toMatch(/outputs\.graphite/); // filtered out: nothing listens on 127.0.0.1:9
    } finally {
      agent.kill('SIGTERM');
    }
  }, 60_000);
});
