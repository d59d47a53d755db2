// The command lines and file edits of up/down, as plain values (the engines themselves are
// exercised in up-down.test.ts).
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeDown, composeLogs, composeUp, containerPhase, networkCreate, serviceLogs, stackDeploy, stackRemove, type InspectedContainer } from '../src/runtime/docker.js';
import { firstErrorLine, formatCommand } from '../src/runtime/exec.js';
import { bindSecrets, describeSecretsAccess, externalNetworks, secretsAccess, serviceImages, withoutRoutingMesh, writeSecretCopies } from '../src/runtime/stack-files.js';
import { findRecord, listRecords, makeStackDir, stackDir, stateRoot, writeRecord, type StackRecord } from '../src/runtime/state.js';
import type { YamlMap } from '../src/combine/merge.js';
import { runCli } from './helpers/cli.js';

describe('compose and swarm command lines', () => {
  const v2 = ['docker', 'compose'];
  const v1 = ['docker-compose', '--compatibility'];

  it('compose up/down/logs for v2 and v1 (which needs --compatibility for deploy keys)', () => {
    expect(formatCommand(composeUp(v2, 'sm', '/s/docker-compose.yml'))).toBe('docker compose --project-name sm --file /s/docker-compose.yml up --detach --remove-orphans');
    expect(formatCommand(composeUp(v1, 'sm', '/s/f.yml'))).toBe('docker-compose --compatibility --project-name sm --file /s/f.yml up --detach --remove-orphans');
    expect(composeDown(v2, 'sm', '/f', true).args.slice(-3)).toEqual(['down', '--remove-orphans', '--volumes']);
    expect(composeDown(v2, 'sm', '/f', false).args.slice(-2)).toEqual(['down', '--remove-orphans']);
    expect(formatCommand(composeLogs(v1, 'sm', '/f', 'nats', true, 100))).toBe('docker-compose --compatibility --project-name sm --file /f logs --follow --tail 100 nats');
  });

  it('stack deploy without asking a registry, stack rm, service logs, overlay networks', () => {
    expect(formatCommand(stackDeploy('sm', '/s/f.yml'))).toBe('docker stack deploy --compose-file /s/f.yml --resolve-image never --prune sm');
    expect(formatCommand(stackRemove('sm'))).toBe('docker stack rm sm');
    expect(formatCommand(serviceLogs('sm', 'nats', false, 20))).toBe('docker service logs --tail 20 sm_nats');
    expect(formatCommand(networkCreate('smartmeter', true))).toBe('docker network create --driver overlay --attachable smartmeter');
    expect(formatCommand(networkCreate('smartmeter', false))).toBe('docker network create smartmeter');
  });

  it('quotes what a shell would split', () => {
    expect(formatCommand({ program: 'helm', args: ['--set', "a=b c", "it's"] })).toBe(`helm --set 'a=b c' 'it'\\''s'`);
  });

  it("picks the tool's telling error line", () => {
    expect(firstErrorLine({ code: 1, stdout: '', stderr: 'Creating network\nERROR: pull access denied for x\n' })).toBe('ERROR: pull access denied for x');
    expect(firstErrorLine({ code: 3, stdout: '', stderr: '' })).toBe('exit code 3');
  });
});

describe('the deployed file', () => {
  const doc = (): YamlMap => ({
    services: {
      nats: { image: 'nats:2', ports: ['4222:4222', '127.0.0.1:8222:8222/tcp', { target: 1, published: 2 }], secrets: ['nats_password_secret'] },
      inject: { image: 'smartmeter:1', deploy: { replicas: 2 } },
      ingest: { image: 'smartmeter:1' },
    },
    networks: { default: { name: 'smartmeter', external: true } },
    secrets: { nats_password_secret: { file: './devsecrets/nats_password_secret' } },
  });

  it('lists images with their services, and the external networks', () => {
    expect([...serviceImages(doc())]).toEqual([['nats:2', ['nats']], ['smartmeter:1', ['inject', 'ingest']]]);
    expect(externalNetworks(doc())).toEqual(['smartmeter']);
  });

  it('without the routing mesh: host-mode ports and DNS round robin, other settings kept', () => {
    const d = doc();
    withoutRoutingMesh(d);
    const services = d.services as Record<string, YamlMap>;
    expect(services.nats!.ports).toEqual([
      { target: 4222, published: 4222, protocol: 'tcp', mode: 'host' },
      { target: 8222, published: 8222, protocol: 'tcp', mode: 'host' },
      { target: 1, published: 2 },
    ]);
    expect(services.inject!.deploy).toEqual({ replicas: 2, endpoint_mode: 'dnsrr' });
  });

  it('binds secrets to the secrets directory, refusing missing and world-readable files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-secrets-'));
    expect(() => bindSecrets(doc(), dir)).toThrow(`secret nats_password_secret: ${join(dir, 'nats_password_secret')} is missing`);
    writeFileSync(join(dir, 'nats_password_secret'), 'pw');
    chmodSync(join(dir, 'nats_password_secret'), 0o644);
    expect(() => bindSecrets(doc(), dir)).toThrow('is readable by everyone (chmod 600 it)');
    chmodSync(join(dir, 'nats_password_secret'), 0o640);
    const d = doc();
    expect(bindSecrets(d, dir)).toEqual([{ name: 'nats_password_secret', file: join(dir, 'nats_password_secret') }]);
    expect(d.secrets).toEqual({ nats_password_secret: { file: join(dir, 'nats_password_secret') } });
  });

  it('takes only names Docker accepts as a project name, and namespaces Kubernetes accepts', () => {
    expect(() => stackDir('/tmp/s', { runtime: 'compose', name: 'My Stack' })).toThrow(/--name must be lower-case/);
    expect(stackDir('/tmp/s', { runtime: 'compose', name: 'sm-1' })).toBe('/tmp/s/stacks/compose/sm-1');
    expect(stackDir('/tmp/s', { runtime: 'helm', name: 'sm-1', namespace: 'meters' })).toBe('/tmp/s/stacks/helm/meters/sm-1');
    expect(() => stackDir('/tmp/s', { runtime: 'helm', name: 'sm-1', namespace: '../etc' })).toThrow(/--namespace must be a Kubernetes namespace/);
  });
});

describe('the per-user state directory', () => {
  it('is --state-dir, else SMARTMETER_STATE_DIR, else $XDG_STATE_HOME/smartmeter (absolute only), else ~/.local/state/smartmeter', () => {
    expect(stateRoot('rel', { SMARTMETER_STATE_DIR: '/env' })).toBe(join(process.cwd(), 'rel'));
    expect(stateRoot(undefined, { SMARTMETER_STATE_DIR: '/env', XDG_STATE_HOME: '/xdg' })).toBe('/env');
    expect(stateRoot(undefined, { XDG_STATE_HOME: '/xdg', HOME: '/home/u' })).toBe('/xdg/smartmeter');
    expect(stateRoot(undefined, { XDG_STATE_HOME: 'relative', HOME: '/home/u' })).toBe('/home/u/.local/state/smartmeter');
    expect(stateRoot(undefined, { HOME: '/home/u' })).toBe('/home/u/.local/state/smartmeter');
  });

  it('keys records by runtime and namespace: the same name twice is two stacks, and a lookup must say which', () => {
    const root = join(mkdtempSync(join(tmpdir(), 'smartmeter-state-')), 'state');
    const record = (runtime: StackRecord['runtime'], namespace?: string): StackRecord => ({ runtime, name: 'meters', namespace, file: '/f', createdNetworks: [], createdAt: '2026-11-30T10:00:00.000Z' });
    for (const r of [record('compose'), record('helm', 'a'), record('helm', 'b')]) {
      const dir = stackDir(root, r);
      makeStackDir(root, dir);
      writeRecord(dir, r);
    }
    expect(listRecords(root).map(({ record: r, dir }) => [r.runtime, r.namespace, dir.slice(root.length)])).toEqual([
      ['compose', undefined, '/stacks/compose/meters'], ['helm', 'a', '/stacks/helm/a/meters'], ['helm', 'b', '/stacks/helm/b/meters'],
    ]);
    expect(() => findRecord(root, 'meters')).toThrow('3 stacks are called "meters": compose, helm (namespace a), helm (namespace b); say which with --runtime (and --namespace)');
    expect(() => findRecord(root, 'meters', { runtime: 'helm' })).toThrow(/2 stacks are called "meters"/);
    expect(findRecord(root, 'meters', { runtime: 'helm', namespace: 'b' }).dir).toBe(join(root, 'stacks', 'helm', 'b', 'meters'));
    expect(findRecord(root, 'meters', { runtime: 'compose' }).record.runtime).toBe('compose');
    expect(() => findRecord(root, 'other')).toThrow(`no stack "other" is recorded in ${root} (smartmeter stacks lists them; see --state-dir and --name)`);
    // Private: every directory from the root down 0700, the records 0600.
    for (const dir of [root, join(root, 'stacks'), join(root, 'stacks', 'helm'), join(root, 'stacks', 'helm', 'a'), join(root, 'stacks', 'helm', 'a', 'meters')]) {
      expect(statSync(dir).mode & 0o777, dir).toBe(0o700);
    }
    expect(statSync(join(root, 'stacks', 'helm', 'a', 'meters', 'stack.json')).mode & 0o777).toBe(0o600);
  });

  it("still finds a stack an older smartmeter recorded in ./.smartmeter/<name> of the directory up ran in", () => {
    const cwd = mkdtempSync(join(tmpdir(), 'smartmeter-legacy-'));
    mkdirSync(join(cwd, '.smartmeter', 'old'), { recursive: true });
    writeFileSync(join(cwd, '.smartmeter', 'old', 'stack.json'), JSON.stringify({ runtime: 'compose', name: 'old', file: join(cwd, '.smartmeter', 'old', 'docker-compose.yml'), createdNetworks: [], createdAt: '2026-01-01T00:00:00.000Z' }));
    const env = { SMARTMETER_STATE_DIR: join(cwd, 'state') };
    // Found (its deployed file is what is missing here), where a name never recorded is not.
    expect(runCli(['status', '--name', 'old'], { cwd, env }).stderr.trim()).toBe(`smartmeter: ${join(cwd, '.smartmeter', 'old', 'docker-compose.yml')}: the deployed file of stack old is gone`);
    expect(runCli(['status', '--name', 'other'], { cwd, env }).stderr.trim()).toBe(`smartmeter: no stack "other" is recorded in ${join(cwd, 'state')} (smartmeter stacks lists them; see --state-dir and --name)`);
  });

  it('stacks: none recorded is said on stderr; --json is an empty list', () => {
    const root = join(mkdtempSync(join(tmpdir(), 'smartmeter-none-')), 'state');
    const text = runCli(['stacks', '--state-dir', root]);
    expect({ status: text.status, stdout: text.stdout, stderr: text.stderr }).toEqual({ status: 0, stdout: '', stderr: `no stacks recorded in ${root}\n` });
    expect(JSON.parse(runCli(['stacks', '--json'], { env: { SMARTMETER_STATE_DIR: root } }).stdout)).toEqual({ stateDir: root, stacks: [] });
  });
});

describe("smartmeter's containers and the secret files on Compose", () => {
  const asRoot = process.getuid?.() === 0;
  /** nats (another image) and a service with its own user keep the files; inject and ingest (smartmeter's image) get copies. */
  const doc = (): YamlMap => ({
    services: {
      nats: { image: 'nats:2', secrets: ['nats_username_secret', 'nats_password_secret'] },
      inject: { image: 'smartmeter:1', secrets: ['nats_username_secret', { source: 'nats_password_secret', target: 'nats_password_secret' }] },
      ingest: { image: 'smartmeter:1', secrets: ['nats_password_secret', 'ingest_only_secret'] },
      debug: { image: 'smartmeter:1', user: '0:0', secrets: ['nats_password_secret'] },
      other: { image: 'smartmeter-other:1', secrets: ['nats_password_secret'] },
    },
    secrets: {
      nats_username_secret: { file: './devsecrets/nats_username_secret' },
      nats_password_secret: { file: './devsecrets/nats_password_secret' },
      ingest_only_secret: { file: './devsecrets/ingest_only_secret' },
    },
  });
  const secretFiles = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-secrets-'));
    for (const name of ['nats_username_secret', 'nats_password_secret', 'ingest_only_secret']) {
      writeFileSync(join(dir, name), `${name} value`);
      chmodSync(join(dir, name), 0o600);
    }
    return dir;
  };

  it('as root: a plan of private copies for the services of smartmeter\'s image, which run as 10001:10001; nothing written (the dry run)', () => {
    const dir = secretFiles();
    const copies = join(dir, 'state', 'sm', 'secrets');
    const d = doc();
    const access = secretsAccess(d, bindSecrets(d, dir), 'smartmeter', copies, true);
    expect(access).toEqual({
      kind: 'copies',
      user: '10001:10001',
      services: ['ingest', 'inject'],
      dir: copies,
      copies: ['ingest_only_secret', 'nats_password_secret', 'nats_username_secret'].map((secret) => ({ secret, copySecret: `${secret}_smartmeter`, from: join(dir, secret), to: join(copies, secret) })),
    });
    const services = d.services as Record<string, YamlMap>;
    // Mounted where they were (/run/secrets/<name>), from the copies.
    expect(services.inject).toEqual({ image: 'smartmeter:1', user: '10001:10001', secrets: [
      { source: 'nats_username_secret_smartmeter', target: 'nats_username_secret' },
      { source: 'nats_password_secret_smartmeter', target: 'nats_password_secret' },
    ] });
    expect(services.ingest!.secrets).toEqual([{ source: 'nats_password_secret_smartmeter', target: 'nats_password_secret' }, { source: 'ingest_only_secret_smartmeter', target: 'ingest_only_secret' }]);
    // Other images, and a service that sets its own user, keep the files as they are.
    expect(services.nats).toEqual({ image: 'nats:2', secrets: ['nats_username_secret', 'nats_password_secret'] });
    expect(services.debug).toEqual({ image: 'smartmeter:1', user: '0:0', secrets: ['nats_password_secret'] });
    expect(services.other).toEqual({ image: 'smartmeter-other:1', secrets: ['nats_password_secret'] });
    // A secret only smartmeter's services mounted is deployed only as its copy.
    expect(d.secrets).toEqual({
      nats_username_secret: { file: join(dir, 'nats_username_secret') },
      nats_password_secret: { file: join(dir, 'nats_password_secret') },
      ingest_only_secret_smartmeter: { file: join(copies, 'ingest_only_secret') },
      nats_password_secret_smartmeter: { file: join(copies, 'nats_password_secret') },
      nats_username_secret_smartmeter: { file: join(copies, 'nats_username_secret') },
    });
    expect(existsSync(join(dir, 'state'))).toBe(false);
    expect(describeSecretsAccess(access)).toEqual([
      `ingest, inject run as 10001:10001 and read private copies of the secret files, which up writes (0400, owned by 10001:10001, in ${copies}, 0700) and down removes:`,
      `  ${join(copies, 'ingest_only_secret')} <- ${join(dir, 'ingest_only_secret')}`,
      `  ${join(copies, 'nats_password_secret')} <- ${join(dir, 'nats_password_secret')}`,
      `  ${join(copies, 'nats_username_secret')} <- ${join(dir, 'nats_username_secret')}`,
    ]);
  });

  it.runIf(asRoot)('as root: the copies written 0400 and owned by 10001:10001 in a 0700 directory, a stale one removed', () => {
    const dir = secretFiles();
    const copies = join(dir, 'state', 'sm', 'secrets');
    mkdirSync(copies, { recursive: true, mode: 0o755 });
    writeFileSync(join(copies, 'gone_secret'), 'old');
    const d = doc();
    const access = secretsAccess(d, bindSecrets(d, dir), 'smartmeter', copies, true);
    writeSecretCopies(access);
    expect(statSync(copies).mode & 0o777).toBe(0o700);
    expect(readdirSync(copies).sort()).toEqual(['ingest_only_secret', 'nats_password_secret', 'nats_username_secret']);
    for (const name of readdirSync(copies)) {
      const stat = statSync(join(copies, name));
      expect({ mode: stat.mode & 0o777, uid: stat.uid, gid: stat.gid }, name).toEqual({ mode: 0o400, uid: 10001, gid: 10001 });
      expect(readFileSync(join(copies, name), 'utf8')).toBe(`${name} value`);
    }
    // Again (an up over the running stack): the copies replaced, not refused.
    writeFileSync(join(dir, 'nats_password_secret'), 'changed');
    writeSecretCopies(access);
    expect(readFileSync(join(copies, 'nats_password_secret'), 'utf8')).toBe('changed');
  });

  it.runIf(asRoot)('not as root: the services run as the files\' one non-root owner; root\'s files, or files of different owners, refused naming them', () => {
    const dir = secretFiles();
    const copies = join(dir, 'copies');
    const files = ['nats_username_secret', 'nats_password_secret', 'ingest_only_secret'].map((name) => join(dir, name));
    const root = doc();
    expect(() => secretsAccess(root, bindSecrets(root, dir), 'smartmeter', copies, false)).toThrow(
      `the secret files of ingest, inject are root's: ingest_only_secret (${files[2]}, owner 0:0), nats_password_secret (${files[1]}, owner 0:0), nats_username_secret (${files[0]}, owner 0:0); on Compose those containers would have to run as root to read them: run up as root (it gives smartmeter's containers private copies owned by 10001:10001), or chown the files to one non-root user (e.g. 10001:10001, the image's)`);
    for (const file of files) chownSync(file, 1000, 1001);
    const d = doc();
    expect(secretsAccess(d, bindSecrets(d, dir), 'smartmeter', copies, false)).toEqual({ kind: 'owner', user: '1000:1001', services: ['ingest', 'inject'] });
    const services = d.services as Record<string, YamlMap>;
    expect(services.inject).toEqual({ ...(doc().services as Record<string, YamlMap>).inject, user: '1000:1001' });
    expect(services.nats!.user).toBeUndefined();
    expect(describeSecretsAccess({ kind: 'owner', user: '1000:1001', services: ['ingest', 'inject'] })).toEqual(["ingest, inject run as 1000:1001, the secret files' owner (up is not root: it cannot make copies for the image's user)"]);
    chownSync(files[1]!, 1002, 1001);
    const mixed = doc();
    expect(() => secretsAccess(mixed, bindSecrets(mixed, dir), 'smartmeter', copies, false)).toThrow(
      `the secret files of ingest, inject have different owners: ingest_only_secret (${files[2]}, owner 1000:1001), nats_password_secret (${files[1]}, owner 1002:1001), nats_username_secret (${files[0]}, owner 1000:1001); on Compose those containers read them as one user: `);
    expect(existsSync(copies)).toBe(false);
  });

  it('no service of smartmeter\'s image mounting a secret file: nothing to do', () => {
    const dir = secretFiles();
    const d: YamlMap = { services: { nats: { image: 'nats:2', secrets: ['nats_password_secret'] }, inject: { image: 'smartmeter:1' } }, secrets: { nats_password_secret: { file: 'x/nats_password_secret' } } };
    const before = JSON.stringify(d);
    expect(secretsAccess(d, bindSecrets(d, dir), 'smartmeter', join(dir, 'c'), true)).toEqual({ kind: 'none' });
    expect(JSON.stringify(d)).toBe(before.replace('x/nats_password_secret', join(dir, 'nats_password_secret')));
    expect(describeSecretsAccess({ kind: 'none' })).toEqual([]);
  });
});

describe('service phases from docker inspect', () => {
  // Only the fields containerPhase reads; `extra` may add more of docker inspect's (HostConfig).
  const container = (State: InspectedContainer['State'], extra: object = {}) => ({ Id: 'c1', RestartCount: 0, State, Config: { Labels: {} }, ...extra }) as InspectedContainer;
  const healthcheck = { Config: { Labels: {}, Healthcheck: { Test: ['CMD', 'true'] } } };

  it('reads healthy, starting, running, completed and failed', () => {
    expect(containerPhase('a', []).phase).toBe('starting');
    expect(containerPhase('a', [container({ Status: 'running', ExitCode: 0, Health: { Status: 'healthy' } }, healthcheck)]).phase).toBe('healthy');
    expect(containerPhase('a', [container({ Status: 'running', ExitCode: 0, Health: { Status: 'starting' } }, healthcheck)]).phase).toBe('starting');
    expect(containerPhase('a', [container({ Status: 'running', ExitCode: 0, Health: { Status: 'unhealthy' } }, healthcheck)]).phase).toBe('failed');
    expect(containerPhase('a', [container({ Status: 'running', ExitCode: 0 })]).phase).toBe('running');
    expect(containerPhase('a', [container({ Status: 'exited', ExitCode: 0 })]).phase).toBe('completed');
    // A health-checked service is meant to keep running: exit 0 is a failure too.
    expect(containerPhase('a', [container({ Status: 'exited', ExitCode: 0 }, healthcheck)]).phase).toBe('failed');
    expect(containerPhase('a', [container({ Status: 'exited', ExitCode: 1 })]).phase).toBe('failed');
    const restarting = { HostConfig: { RestartPolicy: { Name: 'on-failure' } } };
    expect(containerPhase('a', [container({ Status: 'restarting', ExitCode: 1 }, restarting)]).phase).toBe('starting');
    expect(containerPhase('a', [{ ...container({ Status: 'restarting', ExitCode: 1 }, restarting), RestartCount: 3 }]).phase).toBe('failed');
  });

  it('takes the worst of several replicas', () => {
    const s = containerPhase('a', [container({ Status: 'running', ExitCode: 0 }), container({ Status: 'exited', ExitCode: 2 })]);
    expect(s).toMatchObject({ phase: 'failed', detail: 'exited (2), 2 containers', replicas: { ready: 1, desired: 2 } });
    expect(containerPhase('a', [])).toMatchObject({ phase: 'starting', replicas: { ready: 0, desired: 1 } });
  });
});

describe('up --dry-run', () => {
  it('prints the file and the commands, deploying nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-dry-'));
    // The state directory is the user's (XDG_STATE_HOME), wherever up runs.
    const r = runCli(['up', 'local', 'single', 'no_secrets', 'inject', '--dry-run', '--name', 'dry'], { cwd: dir, env: { DOCKER_HOST: 'unix:///nonexistent.sock', XDG_STATE_HOME: join(dir, 'xdg') } });
    expect(r.status, r.stderr).toBe(0);
    const file = join(dir, 'xdg', 'smartmeter', 'stacks', 'compose', 'dry', 'docker-compose.yml');
    expect(r.stdout).toContain(`# ${file} (credentials masked here)\n`);
    expect(r.stdout).toMatch(/^services:$/m);
    expect(r.stdout).toMatch(/^docker network create smartmeter$/m);
    expect(r.stdout).toMatch(new RegExp(`^docker(-compose --compatibility| compose) --project-name dry --file ${file} up --detach --remove-orphans$`, 'm'));
    expect(existsSync(join(dir, 'xdg'))).toBe(false);
  });

  it('masks the credentials it prints, and refuses cluster mode on Compose', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-dry-'));
    const r = runCli(['up', 'local', 'single', 'no_secrets', 'inject', '--dry-run'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('(credentials masked here)');
    expect(r.stdout).toMatch(/- NATS_PASSWORD=\*\*\*$/m);
    expect(r.stdout).not.toContain('xyz1234');
    const cluster = runCli(['up', 'local', 'cluster', 'no_secrets', 'inject', '--dry-run'], { cwd: dir });
    expect(cluster.status).toBe(2);
    expect(cluster.stderr.trim()).toBe('smartmeter: cluster mode needs --runtime swarm or helm (its services number their replicas with Swarm task slots)');
  });

  it.runIf(process.getuid?.() === 0)('secrets mode on Compose as root: says which copies up would write for smartmeter\'s containers, and writes none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-dry-'));
    mkdirSync(join(dir, 'devsecrets'));
    for (const name of ['nats_username_secret', 'nats_password_secret', 'nats_cluster_username_secret', 'nats_cluster_password_secret']) {
      writeFileSync(join(dir, 'devsecrets', name), 'value');
      chmodSync(join(dir, 'devsecrets', name), 0o600);
    }
    const r = runCli(['up', 'local', 'single', 'secrets', 'cassandra_inject', 'inject', '--dry-run', '--name', 'dry'], { cwd: dir, env: { DOCKER_HOST: 'unix:///nonexistent.sock', SMARTMETER_STATE_DIR: join(dir, 'state') } });
    expect(r.status, r.stderr).toBe(0);
    const copies = join(dir, 'state', 'stacks', 'compose', 'dry', 'secrets');
    expect(r.stdout).toContain([
      '# secret files',
      `# cassandra_inject, inject run as 10001:10001 and read private copies of the secret files, which up writes (0400, owned by 10001:10001, in ${copies}, 0700) and down removes:`,
      `#   ${join(copies, 'nats_password_secret')} <- ${join(dir, 'devsecrets', 'nats_password_secret')}`,
      `#   ${join(copies, 'nats_username_secret')} <- ${join(dir, 'devsecrets', 'nats_username_secret')}`,
      '# commands',
    ].join('\n'));
    expect(r.stdout).toContain(`  nats_password_secret_smartmeter:\n    file: ${join(copies, 'nats_password_secret')}\n`);
    expect(r.stdout).toMatch(/^ {4}user: '10001:10001'$/m);
    expect(existsSync(join(dir, 'state'))).toBe(false);
  });

  it('names a missing docker or helm binary in one line', () => {
    const empty = mkdtempSync(join(tmpdir(), 'smartmeter-nopath-'));
    const docker = runCli(['up', 'local', 'single', 'no_secrets', 'inject'], { cwd: empty, env: { PATH: empty } });
    expect(docker.status).toBe(1);
    expect(docker.stderr.trim()).toBe('smartmeter: docker is not installed (not found on PATH)');
    const helm = runCli(['up', 'local', 'single', 'no_secrets', 'inject', '--runtime', 'helm'], { cwd: empty, env: { PATH: empty } });
    expect(helm.status).toBe(1);
    expect(helm.stderr.trim()).toBe('smartmeter: helm is not installed (not found on PATH)');
  });

  it('refuses a runtime it does not know, and a stack name Docker would refuse', () => {
    expect(runCli(['up', 'local', 'single', 'no_secrets', 'inject', '--runtime', 'nomad']).stderr).toMatch(/--runtime.*nomad/);
    const r = runCli(['up', 'local', 'single', 'no_secrets', 'inject', '--name', 'Bad Name', '--dry-run']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('smartmeter: --name must be lower-case letters, digits, _ and - (a Docker project name), got "Bad Name"');
  });
});
