// The NATS start script that the compose templates give the nats containers, run for real
// against the rig's nats-server (the release it builds, not one on PATH): credentials from files
// (secrets) or the environment (no_secrets), and a two-node route mesh with cluster credentials.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { combine } from '../src/templates/combine.js';
import { ROOT } from './helpers/cli.js';
import { freePort, natsHandshake, waitFor } from './helpers/net.js';
import { rigNatsServer } from './helpers/nats-server.js';

const server = rigNatsServer();
const haveServer = server !== undefined && existsSync(server);
if (!haveServer && process.env.CI === 'true') throw new Error("CI needs the rig's nats-server: npm run rig -- up nats builds it");
if (!haveServer) console.warn("skipping the NATS template suite: npm run rig -- up nats builds the rig's nats-server");
/** A PATH entry where `nats-server`, as the start script calls it, is the rig's binary. */
const serverDir = mkdtempSync(join(tmpdir(), 'smartmeter-nats-bin-'));
if (haveServer) symlinkSync(server!, join(serverDir, 'nats-server'));

type Service = { entrypoint: string[]; command: string[]; environment: string[] };

function natsServices(secretMode: string, clusterMode: string): Record<string, Service> {
  const result = combine({
    templatesDir: join(ROOT, 'templates', 'compose'),
    modes: { location: 'local', clusterMode, secretMode },
    targets: ['root'],
    env: {},
    sets: ['NATS_USERNAME=alice', 'NATS_PASSWORD=pa$word', 'NATS_CLUSTER_USERNAME=route', 'NATS_CLUSTER_PASSWORD=r0ute'],
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
  const port = await freePort();
  const monitor = await freePort();
  const store = mkdtempSync(join(tmpdir(), 'smartmeter-js-'));
  const environment = Object.fromEntries(
    service.environment.map((entry) => {
      const eq = entry.indexOf('=');
      return [entry.slice(0, eq), entry.slice(eq + 1).replaceAll('$$', '$').replace('/run/secrets', secretsDir)];
    }),
  );
  // The template's own flags, with the ports and store moved to free, local places.
  const args = service.command.map((arg) => (arg === '/data' ? store : arg === '8222' ? String(monitor) : arg));
  const child = spawn(shell!, [flag!, script!.replaceAll('$$', '$'), name!, ...args, '-a', '127.0.0.1', '-p', String(port)], {
    env: { PATH: `${serverDir}:${process.env.PATH!}`, HOSTNAME: `n${port}`, ...environment, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (chunk) => (log += chunk));
  started.push(child);
  // Ready when the client port answers a handshake (/healthz would wait for a JetStream
  // quorum in cluster mode, which needs the other server first).
  await waitFor(async () => natsHandshake(port, '', ''), 15_000, `nats-server to listen (${log})`);
  return { port, monitor };
}

describe.runIf(haveServer)('the NATS start script of the templates', () => {
  const secretsDir = mkdtempSync(join(tmpdir(), 'smartmeter-secrets-'));
  writeFileSync(join(secretsDir, 'nats_username_secret'), 'filed-user');
  writeFileSync(join(secretsDir, 'nats_password_secret'), 'filed-pa$$');
  writeFileSync(join(secretsDir, 'nats_cluster_username_secret'), 'route');
  writeFileSync(join(secretsDir, 'nats_cluster_password_secret'), 'r0ute');

  it('no_secrets: the server takes its credentials from the environment', async () => {
    const { port, monitor } = await startLikeCompose(natsServices('no_secrets', 'single').nats!, {}, secretsDir);
    // The script's `exec nats-server` ran the rig's binary: /varz reports its version.
    const version = /v(\d+\.\d+\.\d+)/.exec(spawnSync(server!, ['--version'], { encoding: 'utf8' }).stdout)?.[1];
    expect(((await (await fetch(`http://127.0.0.1:${monitor}/varz`)).json()) as { version: string }).version).toBe(version);
    expect(await natsHandshake(port, 'alice', 'pa$word')).toBe('PONG');
    expect(await natsHandshake(port, 'alice', 'wrong')).toMatch(/^-ERR 'Authorization Violation'/);
  });

  it('secrets: the server reads its credentials from the mounted files', async () => {
    const { port } = await startLikeCompose(natsServices('secrets', 'single').nats!, {}, secretsDir);
    expect(await natsHandshake(port, 'filed-user', 'filed-pa$$')).toBe('PONG');
    expect(await natsHandshake(port, 'alice', 'pa$word')).toMatch(/^-ERR/);
  });

  it('cluster: the seed and another server form a route mesh with the cluster credentials', async () => {
    const services = natsServices('secrets', 'cluster');
    const seedRoute = await freePort();
    const otherRoute = await freePort();
    const seed = await startLikeCompose(services.nats!, { NATS_ROUTES: `127.0.0.1:${seedRoute}`, NATS_CLUSTER_LISTEN: `127.0.0.1:${seedRoute}` }, secretsDir);
    await startLikeCompose(services.nats_cluster!, { NATS_ROUTES: `127.0.0.1:${seedRoute}`, NATS_CLUSTER_LISTEN: `127.0.0.1:${otherRoute}` }, secretsDir);
    const routes = await waitFor(
      async () => {
        const body = (await (await fetch(`http://127.0.0.1:${seed.monitor}/routez`)).json()) as { num_routes: number };
        return body.num_routes >= 1 ? body.num_routes : undefined;
      },
      15_000,
      'a route between the two servers',
    );
    expect(routes).toBeGreaterThanOrEqual(1);
  });
});
