// The NATS start script that the compose templates and the Helm chart give the nats containers,
// run for real against the rig's nats-server (the release it builds, not one on PATH): credentials
// from files (secrets) or the environment (no_secrets), passwords with the characters that break
// shells, URLs and nats-server's own config format, a route mesh with cluster credentials, and
// no credential on the server's command line.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { combine } from '../src/combine/engine.js';
import { ROOT } from './helpers/cli.js';
import { freePort, natsHandshake, waitFor } from './helpers/net.js';
import { rigNatsServer } from './helpers/nats-server.js';
import { rigService } from './helpers/rig.js';
import * as yaml from 'js-yaml';
import { CHART_DIR } from '../src/runtime/helm.js';

const server = rigNatsServer();
const haveServer = server !== undefined && existsSync(server);
if (!haveServer && process.env.CI === 'true') throw new Error("CI needs the rig's nats-server: npm run rig -- up nats builds it");
if (!haveServer) console.warn("skipping the NATS template suite: npm run rig -- up nats builds the rig's nats-server");
/** A PATH entry where `nats-server`, as the start script calls it, is the rig's binary. */
const serverDir = mkdtempSync(join(tmpdir(), 'smartmeter-nats-bin-'));
if (haveServer) symlinkSync(server!, join(serverDir, 'nats-server'));

/** Passwords holding what breaks a shell word, a URL's user information and nats-server's config format. */
const PASSWORD = `pa$word "q" \\ it's #1; {x}`;
const CLUSTER_PASSWORD = 'r@ute/:%2F?$HOME 123';
const FILED_PASSWORD = 'filed-pa$$ \\"';

type Service = { entrypoint: string[]; command: string[]; environment: string[] };

function natsServices(secretMode: string, clusterMode: string): Record<string, Service> {
  const result = combine({
    templatesDir: join(ROOT, 'templates', 'compose'),
    modes: { location: 'local', clusterMode, secretMode },
    targets: ['root'],
    env: {},
    sets: ['NATS_USERNAME=alice', `NATS_PASSWORD=${PASSWORD}`, 'NATS_CLUSTER_USERNAME=route', `NATS_CLUSTER_PASSWORD=${CLUSTER_PASSWORD}`],
    allowMissing: false,
    now: 0,
    displayRoot: ROOT,
  });
  return result.document.services as unknown as Record<string, Service>;
}

const started: ChildProcess[] = [];
afterAll(() => {
  started.forEach((child) => child.kill('SIGTERM'));
  rmSync(serverDir, { recursive: true, force: true });
});

/** Runs a service's entrypoint as its container would, with compose's `$$` → `$`. */
async function startLikeCompose(service: Service, env: Record<string, string>, secretsDir: string) {
  const [shell, flag, script, name] = service.entrypoint;
  const environment = Object.fromEntries(
    service.environment.map((entry) => {
      const eq = entry.indexOf('=');
      return [entry.slice(0, eq), entry.slice(eq + 1).replaceAll('$$', '$').replace('/run/secrets', secretsDir)];
    }),
  );
  return startServer([shell!, flag!, script!.replaceAll('$$', '$'), name!], service.command, { ...environment, ...env });
}

/**
 * Starts `launcher` + the template's own flags (ports and store moved to free, local places);
 * resolves when the client port answers. `pid` is the server's own (the script execs it).
 */
async function startServer(launcher: string[], flags: string[], env: Record<string, string>) {
  const port = await freePort();
  const monitor = await freePort();
  const store = mkdtempSync(join(tmpdir(), 'smartmeter-js-'));
  const args = flags.map((arg) => (arg === '/data' ? store : arg === '8222' ? String(monitor) : arg.replace('--store_dir=/data', `--store_dir=${store}`).replace('--http_port=8222', `--http_port=${monitor}`)));
  const child = spawn(launcher[0]!, [...launcher.slice(1), ...args, '-a', '127.0.0.1', '-p', String(port)], {
    env: { PATH: `${serverDir}:${process.env.PATH!}`, HOSTNAME: `n${port}`, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (chunk) => (log += chunk));
  started.push(child);
  // Ready when the client port answers a handshake (/healthz would wait for a JetStream
  // quorum in cluster mode, which needs the other server first).
  await waitFor(async () => natsHandshake(port, '', ''), 15_000, `nats-server to listen (${log})`);
  return { port, monitor, pid: child.pid! };
}

/** The server's command line, as `ps` and `docker top` show it to anyone on the host. */
function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
}

/** Waits until the two servers' route mesh is up; returns the seed's route count. */
async function routesOf(monitor: number): Promise<number> {
  return waitFor(
    async () => {
      const body = (await (await fetch(`http://127.0.0.1:${monitor}/routez`)).json()) as { num_routes: number };
      return body.num_routes >= 1 ? body.num_routes : undefined;
    },
    15_000,
    'a route between the two servers',
  );
}

describe.runIf(haveServer)('the NATS start script of the templates', () => {
  const secretsDir = mkdtempSync(join(tmpdir(), 'smartmeter-secrets-'));
  writeFileSync(join(secretsDir, 'nats_username_secret'), 'filed-user');
  // Secret files often end with a newline; the script drops it as $(cat) does.
  writeFileSync(join(secretsDir, 'nats_password_secret'), `${FILED_PASSWORD}\n`);
  writeFileSync(join(secretsDir, 'nats_cluster_username_secret'), 'route');
  writeFileSync(join(secretsDir, 'nats_cluster_password_secret'), CLUSTER_PASSWORD);

  it('no_secrets: the server takes its credentials from the environment', async () => {
    const { port, monitor, pid } = await startLikeCompose(natsServices('no_secrets', 'single').nats!, {}, secretsDir);
    // The script's `exec nats-server` ran the rig's binary: /varz reports its version.
    const version = /v(\d+\.\d+\.\d+)/.exec(spawnSync(server!, ['--version'], { encoding: 'utf8' }).stdout)?.[1];
    expect(((await (await fetch(`http://127.0.0.1:${monitor}/varz`)).json()) as { version: string }).version).toBe(version);
    expect(await natsHandshake(port, 'alice', PASSWORD)).toBe('PONG');
    expect(await natsHandshake(port, 'alice', 'wrong')).toMatch(/^-ERR 'Authorization Violation'/);
    expect(commandLine(pid)).toMatch(/nats-server .*--config /);
    expect(commandLine(pid)).not.toContain('pa$word');
  });

  it('secrets: the server reads its credentials from the mounted files', async () => {
    const { port, pid } = await startLikeCompose(natsServices('secrets', 'single').nats!, {}, secretsDir);
    expect(await natsHandshake(port, 'filed-user', FILED_PASSWORD)).toBe('PONG');
    expect(await natsHandshake(port, 'alice', PASSWORD)).toMatch(/^-ERR/);
    expect(commandLine(pid)).not.toContain('filed-pa');
  });

  it('cluster: the seed and another server form a route mesh with the cluster credentials', async () => {
    const services = natsServices('secrets', 'cluster');
    const seedRoute = await freePort();
    const otherRoute = await freePort();
    const seed = await startLikeCompose(services.nats!, { NATS_ROUTES: `127.0.0.1:${seedRoute}`, NATS_CLUSTER_LISTEN: `127.0.0.1:${seedRoute}` }, secretsDir);
    const other = await startLikeCompose(services.nats_cluster!, { NATS_ROUTES: `127.0.0.1:${seedRoute}`, NATS_CLUSTER_LISTEN: `127.0.0.1:${otherRoute}` }, secretsDir);
    expect(await routesOf(seed.monitor)).toBeGreaterThanOrEqual(1);
    for (const { pid } of [seed, other]) expect(commandLine(pid)).not.toMatch(/r@ute|route:/);
  });

  it('the debug subscriber passes its credentials to the nats CLI through the environment', () => {
    const client = natsServices('secrets', 'single');
    const result = combine({
      templatesDir: join(ROOT, 'templates', 'compose'),
      modes: { location: 'local', clusterMode: 'single', secretMode: 'no_secrets' },
      targets: ['root_debug'],
      env: {},
      sets: [`NATS_PASSWORD=${PASSWORD}`],
      allowMissing: false,
      now: 0,
      displayRoot: ROOT,
    });
    expect(client.nats).toBeDefined();
    const entrypoint = ((result.document.services as Record<string, Service>).nats_client!.entrypoint).join(' ');
    expect(entrypoint).toMatch(/exec nats sub --server \S+ "\$\$NATS_SUBJECT"/);
    expect(entrypoint).not.toMatch(/--password|--user/);
  });
});

const helmRig = rigService('helm');
describe.runIf(haveServer && helmRig !== undefined)("the chart's NATS start script", () => {
  /** The script and the nats container of `helm template` with cluster credentials in values. */
  function renderChart(replicas: number) {
    const values = join(mkdtempSync(join(tmpdir(), 'smartmeter-values-')), 'values.yaml');
    writeFileSync(values, yaml.dump({ nats: { replicas, auth: { username: 'alice', password: PASSWORD, clusterUsername: 'route', clusterPassword: CLUSTER_PASSWORD } }, metrics: { enabled: false } }), { mode: 0o600 });
    const r = spawnSync(helmRig!.HELM!, ['template', 'sm', CHART_DIR, '-f', values, '--show-only', 'templates/nats-start.yaml', '--show-only', 'templates/nats.yaml'], {
      encoding: 'utf8',
      env: { ...process.env, HELM_CACHE_HOME: helmRig!.HELM_CACHE_HOME, HELM_CONFIG_HOME: helmRig!.HELM_CONFIG_HOME, HELM_DATA_HOME: helmRig!.HELM_DATA_HOME },
    });
    expect(r.status, r.stderr).toBe(0);
    const docs = yaml.loadAll(r.stdout) as { kind: string; data?: Record<string, string>; spec?: { template: { spec: { containers: { name: string; command: string[]; args: string[]; env: { name: string; value?: string }[] }[] } } } }[];
    const script = docs.find((d) => d?.kind === 'ConfigMap')!.data!['nats-start.sh']!;
    const container = docs.find((d) => d?.kind === 'StatefulSet')!.spec!.template.spec.containers.find((c) => c.name === 'nats')!;
    const file = join(mkdtempSync(join(tmpdir(), 'smartmeter-nats-start-')), 'nats-start.sh');
    writeFileSync(file, script);
    return { file, container, text: r.stdout };
  }

  it('takes the credentials from the environment the Secret fills, and none is in the rendered args', async () => {
    const { file, container, text } = renderChart(1);
    expect(container.command).toEqual(['/bin/sh', '/etc/smartmeter/nats/nats-start.sh']);
    expect(JSON.stringify(container.args)).not.toMatch(/pa\$word|PASSWORD|r@ute/);
    expect(text).not.toContain('pa$word');
    const env = { NATS_USERNAME: 'alice', NATS_PASSWORD: PASSWORD, NATS_CLUSTER_USERNAME: 'route', NATS_CLUSTER_PASSWORD: CLUSTER_PASSWORD };
    const { port, pid } = await startServer(['/bin/sh', file], container.args, env);
    expect(await natsHandshake(port, 'alice', PASSWORD)).toBe('PONG');
    expect(await natsHandshake(port, 'alice', 'pa$word')).toMatch(/^-ERR/);
    expect(commandLine(pid)).not.toContain('pa$word');
  });

  it('joins every route of NATS_ROUTES with the cluster credentials', async () => {
    const { file, container } = renderChart(3);
    // The chart lists every replica's route; here two servers, each listed with itself too.
    expect(container.env.find((e) => e.name === 'NATS_ROUTES')?.value).toBe('sm-nats-0.sm-nats-headless:6222,sm-nats-1.sm-nats-headless:6222,sm-nats-2.sm-nats-headless:6222');
    const [a, b] = [await freePort(), await freePort()];
    const routes = `127.0.0.1:${a},127.0.0.1:${b}`;
    const env = { NATS_USERNAME: 'alice', NATS_PASSWORD: PASSWORD, NATS_CLUSTER_USERNAME: 'route', NATS_CLUSTER_PASSWORD: CLUSTER_PASSWORD, NATS_ROUTES: routes };
    const first = await startServer(['/bin/sh', file], container.args, { ...env, NATS_CLUSTER_LISTEN: `127.0.0.1:${a}` });
    await startServer(['/bin/sh', file], container.args, { ...env, NATS_CLUSTER_LISTEN: `127.0.0.1:${b}` });
    expect(await routesOf(first.monitor)).toBeGreaterThanOrEqual(1);
    expect(commandLine(first.pid)).not.toMatch(/r@ute/);
  });
});
