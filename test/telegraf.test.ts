// The stack's Telegraf configurations: every file a fragment runs exists, parses as TOML once
// the environment the fragment sets is filled in (as Telegraf does), and points its Graphite
// output at the stack's Graphite; then a real Telegraf (built by the rig) runs one against the
// rig's NATS and carbon-cache, and the values land in Whisper.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'nats';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers/cli.js';
import { natsDashboardFields } from './helpers/dashboards.js';
import { freePort, waitFor } from './helpers/net.js';
import { rigService } from './helpers/rig.js';

const CONF_DIR = join(ROOT, 'templates', 'config', 'telegraf');

/** Telegraf's own substitution of ${VAR} and ${VAR:-default} before it parses the TOML. */
function substitute(text: string, env: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => env[name] ?? fallback ?? '');
}

interface Service {
  entrypoint?: string[];
  command?: string[];
  environment?: string[];
}

describe('Telegraf configurations of the stack', () => {
  const compose = runCli(['combine', 'local', 'single', 'secrets', 'root_metrics', 'streaming_metrics', 'prediction_metrics', 'cassandra_inject', 'cassandra_inject_metrics', '--json']);
  const services = compose.status === 0 ? (JSON.parse(compose.stdout) as { services: Record<string, Service> }).services : {};
  const telegrafServices = Object.entries(services).filter(([name]) => name.startsWith('telegraf'));

  it('exist for every Telegraf service, and parse with the environment the service gets', () => {
    expect(compose.status, compose.stderr).toBe(0);
    expect(telegrafServices.length).toBeGreaterThanOrEqual(5);
    const used = new Set<string>();
    for (const [name, service] of telegrafServices) {
      const commandLine = [...(service.entrypoint ?? []), ...(service.command ?? [])].join(' ');
      const file = /\/etc\/telegraf\/smartmeter\/([a-z_]+\.conf)/.exec(commandLine)?.[1];
      expect(file, `${name}: ${commandLine}`).toBeDefined();
      used.add(file!);
      expect(existsSync(join(CONF_DIR, file!)), `${name} runs ${file}`).toBe(true);
      const env = Object.fromEntries((service.environment ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
      const toml = parse(substitute(readFileSync(join(CONF_DIR, file!), 'utf8'), env)) as {
        agent: { interval: string; debug: boolean };
        inputs: Record<string, unknown[]>;
        outputs: { graphite: { servers: string[]; prefix: string }[] };
      };
      expect(toml.agent.interval, file).toBe(env.TELEGRAF_INTERVAL);
      expect(typeof toml.agent.debug, file).toBe('boolean');
      expect(Object.keys(toml.inputs).length, file).toBeGreaterThan(0);
      expect(toml.outputs.graphite[0]!.servers, file).toEqual([env.GRAPHITE_SERVER]);
      expect(toml.outputs.graphite[0]!.prefix, file).toBe(env.GRAPHITE_PREFIX);
      // The compose stack writes to Graphite only; the Prometheus output is for Kubernetes.
      expect(commandLine, name).toMatch(/--output-filter graphite /);
    }
    expect([...used].sort()).toEqual(readdirSync(CONF_DIR).sort()); // and no file is left unused
  });
});

const telegraf = rigService('telegraf');
const nats = rigService('nats');
const graphite = rigService('graphite');

describe.runIf(telegraf && nats && graphite)('a real Telegraf with the stack\'s configurations', () => {
  it('loads every configuration (a removed or misspelt option fails the load)', () => {
    for (const file of readdirSync(CONF_DIR)) {
      const env = {
        PATH: process.env.PATH!, TELEGRAF_INTERVAL: '1s', TELEGRAF_INPUT_TIMEOUT: '2s', TELEGRAF_DEBUG: 'false', TELEGRAF_QUIET: 'true',
        GRAPHITE_SERVER: graphite!.GRAPHITE_PLAINTEXT!, GRAPHITE_PREFIX: 'smartmeter.loadcheck', NATS_URI: nats!.NATS_URL!,
        NATS_MONITOR_URL: nats!.NATS_MONITOR_URL!, NATS_INSTANCE: 'nats',
      };
      const r = spawnSync(telegraf!.TELEGRAF!, ['--config', join(CONF_DIR, file), '--test', '--test-wait', '0'], { env, encoding: 'utf8', timeout: 30_000 });
      expect(r.stderr, file).toMatch(/Loading config/);
      expect(r.stderr, file).not.toMatch(/loading config file .* failed/);
      // Inputs may fail to gather here (no Docker socket, no ingest): only such errors are allowed.
      if (r.status !== 0) expect(r.stderr, file).toMatch(/\[inputs\.[a-z_]+\] Error in plugin|Starting input inputs\./);
    }
  });

  it('reads the streaming app\'s JSON from NATS and writes it to Graphite', async () => {
    const prefix = `smartmeter.telegraf${process.pid}x${Date.now() % 100_000}`;
    const env = {
      PATH: process.env.PATH!, TELEGRAF_INTERVAL: '1s', TELEGRAF_INPUT_TIMEOUT: '5s', TELEGRAF_DEBUG: 'false', TELEGRAF_QUIET: 'true',
      GRAPHITE_SERVER: graphite!.GRAPHITE_PLAINTEXT!, GRAPHITE_PREFIX: prefix,
      // The server with authentication, as the stack's NATS is.
      NATS_URI: nats!.NATS_AUTH_URL!, NATS_USERNAME: readFileSync(nats!.NATS_AUTH_USER_FILE!, 'utf8').trim(), NATS_PASSWORD: readFileSync(nats!.NATS_AUTH_PASSWORD_FILE!, 'utf8').trim(),
    };
    const check = spawnSync(telegraf!.TELEGRAF!, ['--config', join(CONF_DIR, 'max_voltage.conf'), '--test', '--test-wait', '1'], { env, encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);

    const agent = spawn(telegraf!.TELEGRAF!, ['--config', join(CONF_DIR, 'max_voltage.conf')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
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
    }
  }, 60_000);

  it('reads the NATS monitoring endpoint and lands every field the NATS dashboard charts in Graphite', async () => {
    const prefix = `smartmeter.telegraf${process.pid}y${Date.now() % 100_000}`;
    const env = {
      PATH: process.env.PATH!, TELEGRAF_INTERVAL: '1s', TELEGRAF_INPUT_TIMEOUT: '5s', TELEGRAF_DEBUG: 'false', TELEGRAF_QUIET: 'true',
      GRAPHITE_SERVER: graphite!.GRAPHITE_PLAINTEXT!, GRAPHITE_PREFIX: prefix, NATS_MONITOR_URL: nats!.NATS_MONITOR_URL!, NATS_INSTANCE: 'rig-nats',
    };
    const agent = spawn(telegraf!.TELEGRAF!, ['--config', join(CONF_DIR, 'nats.conf')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    agent.stderr.on('data', (c) => (log += c));
    const root = join(graphite!.GRAPHITE_WHISPER_DIR!, ...prefix.split('.'));
    try {
      // <prefix>.nats.<instance>.<field>: one directory per server, named as the stack names it.
      const server = await waitFor(async () => {
        const dirs = existsSync(join(root, 'nats')) ? readdirSync(join(root, 'nats')) : [];
        return dirs.length === 1 && existsSync(join(root, 'nats', dirs[0]!, 'in_msgs.wsp')) ? dirs[0] : undefined;
      }, 40_000, `nats series under ${root} (telegraf log: ${log.slice(-500)})`);
      expect(server).toBe('rig-nats');
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
    const env = {
      PATH: process.env.PATH!, TELEGRAF_INTERVAL: '1s', TELEGRAF_INPUT_TIMEOUT: '5s', TELEGRAF_DEBUG: 'false', TELEGRAF_QUIET: 'true',
      GRAPHITE_SERVER: '127.0.0.1:9', GRAPHITE_PREFIX: 'unused', NATS_MONITOR_URL: nats!.NATS_MONITOR_URL!, NATS_INSTANCE: 'rig-nats',
      TELEGRAF_PROMETHEUS_PORT: String(port),
    };
    const agent = spawn(telegraf!.TELEGRAF!, ['--output-filter', 'prometheus_client', '--config', join(CONF_DIR, 'nats.conf')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    agent.stderr.on('data', (c) => (log += c));
    try {
      const text = await waitFor(async () => {
        const response = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
        const body = response?.ok ? await response.text() : '';
        return /^nats_in_msgs\{/m.test(body) ? body : undefined;
      }, 40_000, `nats_in_msgs on :${port} (telegraf log: ${log.slice(-500)})`);
      expect(text).toMatch(/^nats_in_msgs\{instance="rig-nats"\} \d+/m);
      expect(log).not.toMatch(/outputs\.graphite/); // filtered out: nothing listens on 127.0.0.1:9
    } finally {
      agent.kill('SIGTERM');
    }
  }, 60_000);
});
