// `smartmeter up` / `status` / `logs` / `down` on the rig's real Docker engine, with its offline
// images: NATS, Cassandra, ingest and inject come up healthy; the schema is created from the host;
// readings injected from the host end up as rows; `down --volumes` leaves nothing of the stack.
// On Compose in both secret modes, and once on Swarm.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import driver from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './helpers/cli.js';
import { freePort, waitFor } from './helpers/net.js';
import { rigService } from './helpers/rig.js';

const rig = rigService('docker');
const NATS_USER = 'deetazilla'; // the properties' default user (no_secrets mode)
/** no_secrets mode's password, set with --set: a `$` must reach nats-server as it is. */
const NATS_PASSWORD = 'xyz$1234';

function docker(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('docker', args, { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: rig!.DOCKER_HOST } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Stack {
  name: string;
  dir: string;
  network: string;
  ports: { nats: number; monitor: number; cql: number };
  cli: (args: string[]) => CliResult;
}

/**
 * A stack of its own. `up` finds `docker compose`, the rig's current Compose (v5, through the
 * rig's DOCKER_CONFIG), unless `composeV1`: then only Debian's docker-compose 1.29, its fallback.
 */
async function newStack(label: string, { composeV1 = false } = {}): Promise<Stack> {
  const name = `sm${label}${process.pid % 10_000}`;
  const dir = mkdtempSync(join(tmpdir(), `smartmeter-up-${label}-`));
  const ports = { nats: await freePort(), monitor: await freePort(), cql: await freePort() };
  const env = { DOCKER_HOST: rig!.DOCKER_HOST!, SMARTMETER_STATE_DIR: join(dir, 'state'), ...(composeV1 ? { DOCKER_CONFIG: join(dir, 'no-plugins') } : { DOCKER_CONFIG: rig!.DOCKER_CONFIG! }) };
  const cli = (args: string[]) => runCli(args, { cwd: dir, env });
  return { name, dir, network: `${name}net`, ports, cli };
}

/** up's arguments: the rig's images, the stack's own ports and network, a light injector in the stack. */
function upArgs(stack: Stack, secretMode: string, extra: string[] = []): string[] {
  return ['up', 'local', 'single', secretMode, 'cassandra_inject', 'inject', '--name', stack.name, '-p', rig!.DOCKER_PROPERTIES_DIR!,
    '--set', `NATS_CLIENT_PORT=${stack.ports.nats}`, '--set', `NATS_MONITORING_PORT=${stack.ports.monitor}`, '--set', `CASSANDRA_CQL_PORT=${stack.ports.cql}`,
    '--set', `NETWORK_NAME=${stack.network}`, '--set', 'GATLING_USERS_PER_SEC=50', '--set', `NATS_PASSWORD=${NATS_PASSWORD}`, '--timeout', '4m', '--json', ...extra];
}

/** Each of the four services ready, as `up --json` and `status --json` print them. */
function expectAllReady(stdout: string): void {
  const { ready, services } = JSON.parse(stdout) as { ready: boolean; services: { name: string; state: string }[] };
  expect(services.map((s) => s.name)).toEqual(['cassandra-cluster-main', 'cassandra_inject', 'inject', 'nats']);
  for (const s of services) expect(['healthy', 'running'], s.name).toContain(s.state);
  expect(ready).toBe(true);
}

/** cassandra init from the host, readings from the host on a slot of their own, then exactly as many rows. */
async function injectAndCount(stack: Stack, slot: number, credentials: string[] = ['-s', `nats://${NATS_USER}:${NATS_PASSWORD}@127.0.0.1:${stack.ports.nats}`]): Promise<void> {
  const init = stack.cli(['cassandra', 'init', '--contact-points', '127.0.0.1', '--port', String(stack.ports.cql), '--wait', '120']);
  expect(init.status, init.stderr).toBe(0);
  const client = new driver.Client({ contactPoints: [`127.0.0.1:${stack.ports.cql}`], localDataCenter: 'dc1' });
  try {
    // ingest waits for the tables, then subscribes: its subscription shows on the NATS monitoring port.
    await waitFor(async () => {
      const response = await fetch(`http://127.0.0.1:${stack.ports.monitor}/subsz?subs=1`).catch(() => undefined);
      const body = response?.ok ? ((await response.json()) as { subscriptions_list?: { subject: string }[] }) : undefined;
      return body?.subscriptions_list?.some((s) => s.subject === 'smartmeter.raw.voltage.data.>') ? true : undefined;
    }, 120_000, "ingest's subscription");
    // One cycle of 1x10x300 points: every reading its own row (line 10×slot+1).
    const inject = stack.cli(['inject', '--count', '3002', '--rate', '3000', '--slack', '2s', '--meters', '1x10x300', '--slot', String(slot), ...credentials, '--json']);
    expect(inject.status, inject.stderr).toBe(0);
    expect(JSON.parse(inject.stdout)).toMatchObject({ confirmed: 3002, kinds: { voltage: 3000 } });
    const line = 10 * slot + 1;
    await waitFor(async () => {
      const rows = Number((await client.execute(`SELECT count(*) FROM smartmeter.raw_data WHERE line = ${line} ALLOW FILTERING`)).first().get('count'));
      return rows === 3000 ? rows : undefined;
    }, 90_000, `3000 rows of line ${line}`);
  } finally {
    await client.shutdown();
  }
}

function expectNothingLeft(stack: Stack, label: string): void {
  expect(docker('ps', '--all', '--quiet', '--filter', `label=${label}=${stack.name}`).stdout.trim()).toBe('');
  expect(docker('volume', 'ls', '--quiet', '--filter', `label=${label}=${stack.name}`).stdout.trim()).toBe('');
  expect(docker('network', 'ls', '--quiet', '--filter', `name=^${stack.network}$`).stdout.trim()).toBe('');
  expect(docker('network', 'ls', '--quiet', '--filter', `label=${label}=${stack.name}`).stdout.trim()).toBe('');
}

/** Secrets mode's passwords: a `$` (Compose's interpolation character) and a space in each. */
const SECRET_PASSWORD = 's3cret-$pw x';
const SECRET_CLUSTER_PASSWORD = 'r0ute-$pw y';

/**
 * No credential in what anyone on the host can read: every process's command line in the
 * stack's containers (as `docker top` shows them), up's output, and the files up wrote
 * (a file that holds one must be 0600).
 */
function expectNoCredentialsExposed(stack: Stack, label: string, output: string, secrets: string[]): void {
  const ids = docker('ps', '--quiet', '--filter', `label=${label}=${stack.name}`).stdout.trim().split('\n').filter(Boolean);
  expect(ids.length).toBeGreaterThanOrEqual(4);
  for (const id of ids) {
    const top = docker('top', id);
    expect(top.status, top.stderr).toBe(0);
    for (const secret of secrets) expect(top.stdout, `docker top ${id}`).not.toContain(secret);
  }
  for (const secret of secrets) expect(output).not.toContain(secret);
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  for (const file of walk(join(stack.dir, 'state'))) {
    const text = readFileSync(file, 'utf8');
    if (secrets.some((secret) => text.includes(secret))) expect(statSync(file).mode & 0o077, file).toBe(0);
  }
}

function secretsDir(stack: Stack, mode = 0o600): string {
  const dir = join(stack.dir, 'devsecrets');
  mkdirSync(dir, { recursive: true });
  const values = { nats_username_secret: 'meter', nats_password_secret: SECRET_PASSWORD, nats_cluster_username_secret: 'route', nats_cluster_password_secret: SECRET_CLUSTER_PASSWORD };
  for (const [file, value] of Object.entries(values)) {
    writeFileSync(join(dir, file), value);
    chmodSync(join(dir, file), mode);
  }
  return dir;
}

/** The secret files secretsDir writes that cassandra_inject and inject mount. */
const SMARTMETER_SECRETS = ['nats_password_secret', 'nats_username_secret'];

/**
 * smartmeter's running containers on Compose (cassandra_inject is ingest) are not root's. Run as
 * root (this rig), the secret files are root's and 0600: up gave the containers private copies,
 * 0400 and owned by the image's user 10001:10001, in <state>/<name>/secrets (0700), and they run
 * as that user. Otherwise they run as the files' owner (this user).
 */
function expectOwnContainersNonRoot(stack: Stack, secrets: string): void {
  const asRoot = process.getuid!() === 0;
  const user = asRoot ? '10001:10001' : `${process.getuid!()}:${process.getgid!()}`;
  for (const name of SMARTMETER_SECRETS) {
    const stat = statSync(join(secrets, name));
    expect({ mode: stat.mode & 0o777, uid: stat.uid }, name).toEqual({ mode: 0o600, uid: process.getuid!() });
  }
  for (const service of ['cassandra_inject', 'inject']) {
    const id = docker('ps', '--quiet', '--filter', `label=com.docker.compose.project=${stack.name}`, '--filter', `label=com.docker.compose.service=${service}`).stdout.trim();
    expect(id, service).toMatch(/^[0-9a-f]+$/);
    expect(docker('inspect', '--format', '{{.Config.User}}', id).stdout.trim(), service).toBe(user);
    // The processes themselves, as the host sees them.
    const top = docker('top', id, '-o', 'pid,uid,gid,args');
    expect(top.status, top.stderr).toBe(0);
    const rows = top.stdout.trim().split('\n').slice(1);
    expect(rows.length, service).toBeGreaterThan(0);
    for (const row of rows) expect(row.trim().split(/\s+/).slice(1, 3).join(':'), `${service}: ${row}`).toBe(user);
  }
  const copies = join(stack.dir, 'state', 'stacks', 'compose', stack.name, 'secrets');
  if (!asRoot) {
    expect(existsSync(copies)).toBe(false);
    return;
  }
  expect(statSync(copies).mode & 0o777).toBe(0o700);
  expect(readdirSync(copies).sort()).toEqual(SMARTMETER_SECRETS);
  for (const name of SMARTMETER_SECRETS) {
    const stat = statSync(join(copies, name));
    expect({ mode: stat.mode & 0o777, uid: stat.uid, gid: stat.gid }, name).toEqual({ mode: 0o400, uid: 10001, gid: 10001 });
    expect(readFileSync(join(copies, name))).toEqual(readFileSync(join(secrets, name)));
  }
}

describe.runIf(rig)('smartmeter up and down on Docker Compose', () => {
  it('no_secrets: up healthy, init, inject from the host, rows, status, logs, down --volumes leaves nothing', async () => {
    const stack = await newStack('c');
    // The current Compose runs it (the rig's v5 plugin), not the v1 fallback.
    expect(stack.cli([...upArgs(stack, 'no_secrets'), '--dry-run']).stdout).toMatch(/^docker compose --project-name /m);
    const up = stack.cli(upArgs(stack, 'no_secrets'));
    try {
      expect(up.status, up.stderr).toBe(0);
      expectAllReady(up.stdout);
      // The deployed file holds the inline credentials: private.
      expect(statSync(join(stack.dir, 'state', 'stacks', 'compose', stack.name, 'docker-compose.yml')).mode & 0o777).toBe(0o600);
      expectNoCredentialsExposed(stack, 'com.docker.compose.project', up.stdout + up.stderr, [NATS_PASSWORD]);
      await injectAndCount(stack, 5);
      const status = stack.cli(['status', '--name', stack.name, '--json']);
      expect(status.status, status.stderr).toBe(0);
      expectAllReady(status.stdout);
      const logs = stack.cli(['logs', 'cassandra_inject', '--name', stack.name, '--no-follow', '--tail', '50']);
      expect(logs.status, logs.stderr).toBe(0);
      // ingest started beside Cassandra and waited for it, then (unless init was quicker) for the tables.
      expect(logs.stdout).toMatch(/^cassandra_inject-1 +\| ingest: waiting for (Cassandra|smartmeter\.raw_data)/m);
      // A failed up over the running stack leaves it (and its data) be.
      const again = stack.cli([...upArgs(stack, 'no_secrets', ['--set', 'NATS_DEBUG=--config /no/such.conf']), '--timeout', '1m']);
      expect(again.status).toBe(1);
      expect(again.stderr).toMatch(/the stack ran before this up: left as it is/);
      const client = new driver.Client({ contactPoints: [`127.0.0.1:${stack.ports.cql}`], localDataCenter: 'dc1' });
      try {
        expect(Number((await client.execute('SELECT count(*) FROM smartmeter.raw_data WHERE line = 51 ALLOW FILTERING')).first().get('count'))).toBe(3000);
      } finally {
        await client.shutdown();
      }
    } finally {
      const down = stack.cli(['down', '--name', stack.name, '--volumes']);
      expect(down.status, down.stderr).toBe(0);
    }
    expectNothingLeft(stack, 'com.docker.compose.project');
    // And the record is gone: status names the problem.
    const after = stack.cli(['status', '--name', stack.name]);
    expect(after.status).toBe(1);
    expect(after.stderr.trim()).toBe(`smartmeter: no stack "${stack.name}" is recorded in ${join(stack.dir, 'state')} (smartmeter stacks lists them; see --state-dir and --name)`);
  }, 600_000);

  it('secrets: the credentials come from the secret files, which must not be world-readable', async () => {
    const stack = await newStack('s');
    const dir = secretsDir(stack, 0o644);
    const refused = stack.cli(upArgs(stack, 'secrets', ['--secrets-dir', dir]));
    expect(refused.status).toBe(2);
    expect(refused.stderr.trim()).toBe(`smartmeter: secret nats_cluster_password_secret: ${join(dir, 'nats_cluster_password_secret')} is readable by everyone (chmod 600 it)`);
    expectNothingLeft(stack, 'com.docker.compose.project');

    secretsDir(stack, 0o600);
    const up = stack.cli(upArgs(stack, 'secrets', ['--secrets-dir', dir]));
    try {
      expect(up.status, up.stderr).toBe(0);
      expectAllReady(up.stdout);
      const deployed = readFileSync(join(stack.dir, 'state', 'stacks', 'compose', stack.name, 'docker-compose.yml'), 'utf8');
      expect(deployed).not.toContain('s3cret');
      expectNoCredentialsExposed(stack, 'com.docker.compose.project', up.stdout + up.stderr, [SECRET_PASSWORD, SECRET_CLUSTER_PASSWORD, 's3cret']);
      // nats (another image) mounts the files as they are; cassandra_inject and inject the copies.
      expect(deployed).toContain(`file: ${join(dir, 'nats_password_secret')}`);
      if (process.getuid!() === 0) expect(deployed).toContain(`file: ${join(stack.dir, 'state', 'stacks', 'compose', stack.name, 'secrets', 'nats_password_secret')}`);
      expectOwnContainersNonRoot(stack, dir);
      // The default credentials are refused: NATS took the secret ones.
      const wrong = stack.cli(['inject', '--count', '1', '-s', `nats://${NATS_USER}:${NATS_PASSWORD}@127.0.0.1:${stack.ports.nats}`]);
      expect(wrong.status).toBe(1);
      expect(wrong.stderr).toMatch(/authorization|credentials|auth/i);
      await injectAndCount(stack, 7, ['-s', `nats://127.0.0.1:${stack.ports.nats}`, '--user', 'meter', '--password-file', join(dir, 'nats_password_secret')]);
    } finally {
      expect(stack.cli(['down', '--name', stack.name, '--volumes']).status).toBe(0);
    }
    expectNothingLeft(stack, 'com.docker.compose.project');
    // The copies went with the stack's directory.
    expect(existsSync(join(stack.dir, 'state', 'stacks', 'compose', stack.name))).toBe(false);
  }, 600_000);

  it('a missing image: one line naming it, exit 1, nothing deployed', async () => {
    const stack = await newStack('m');
    const up = stack.cli(upArgs(stack, 'no_secrets', ['--set', 'docker-nats-tag=no-such-tag']));
    expect(up.status).toBe(1);
    expect(up.stderr.trim().split('\n').at(-1)).toMatch(/^smartmeter: image smartmeter-rig\/nats:no-such-tag \(service nats\) is not on the engine and cannot be pulled: /);
    expectNothingLeft(stack, 'com.docker.compose.project');
  });

  it('a service that keeps failing (on docker-compose v1, the fallback, in secrets mode): named with its last log lines, and everything removed, the copies of the secret files too', async () => {
    const stack = await newStack('f', { composeV1: true });
    const dir = secretsDir(stack);
    expect(stack.cli([...upArgs(stack, 'secrets', ['--secrets-dir', dir]), '--dry-run']).stdout).toMatch(/^docker-compose --compatibility --project-name /m);
    const up = stack.cli(upArgs(stack, 'secrets', ['--secrets-dir', dir, '--set', 'NATS_DEBUG=--config /no/such.conf']));
    if (up.status === 0) stack.cli(['down', '--name', stack.name, '--volumes']);
    expect(up.status).toBe(1);
    // The failure report, as on Helm: the service and its state, then its last log lines.
    expect(up.stderr).toMatch(/^nats is not ready: (exited|restarting|dead)/m);
    expect(up.stderr).toMatch(/^--- last log lines of nats \(container [0-9a-f]{12}\) ---\n(.*\n)*.*\/no\/such\.conf: no such file or directory/m);
    expect(up.stderr.trim().split('\n').at(-1)).toMatch(/^smartmeter: service nats failed: /);
    expectNothingLeft(stack, 'com.docker.compose.project');
    expect(existsSync(join(stack.dir, 'state', 'stacks', 'compose', stack.name))).toBe(false);
  }, 300_000);

  it('an unreachable engine: one line, exit 1', () => {
    const r = runCli(['up', 'local', 'single', 'no_secrets', 'inject'], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^smartmeter: cannot reach the Docker daemon at unix:\/\/\/nonexistent\/docker\.sock: /);
  });
});

describe.runIf(rig)('smartmeter up and down on Docker Swarm', () => {
  beforeAll(() => {
    docker('swarm', 'leave', '--force'); // a swarm left over by an interrupted run
    const init = docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
    expect(init.status, init.stderr).toBe(0);
  });
  afterAll(() => {
    docker('swarm', 'leave', '--force');
  });

  it('secrets: stack deploy with Docker secrets, rows from the host, stack rm --volumes leaves nothing', async () => {
    const stack = await newStack('w');
    const dir = secretsDir(stack);
    // The rig's kernel has no IPVS: no routing mesh, so host-mode ports and DNS round robin.
    const up = stack.cli(upArgs(stack, 'secrets', ['--runtime', 'swarm', '--publish-mode', 'host', '--secrets-dir', dir]));
    try {
      expect(up.status, up.stderr).toBe(0);
      expectAllReady(up.stdout);
      expect(docker('secret', 'ls', '--format', '{{.Name}}').stdout.split('\n')).toContain(`${stack.name}_nats_password_secret`);
      expectNoCredentialsExposed(stack, 'com.docker.stack.namespace', up.stdout + up.stderr, [SECRET_PASSWORD, SECRET_CLUSTER_PASSWORD, 's3cret']);
      await injectAndCount(stack, 8, ['-s', `nats://127.0.0.1:${stack.ports.nats}`, '--user', 'meter', '--password-file', join(dir, 'nats_password_secret')]);
      const status = stack.cli(['status', '--name', stack.name, '--json']);
      expect(status.status, status.stderr).toBe(0);
      expectAllReady(status.stdout);
    } finally {
      expect(stack.cli(['down', '--name', stack.name, '--volumes']).status).toBe(0);
    }
    expectNothingLeft(stack, 'com.docker.stack.namespace');
    expect(docker('secret', 'ls', '--quiet', '--filter', `label=com.docker.stack.namespace=${stack.name}`).stdout.trim()).toBe('');
  }, 600_000);
});
