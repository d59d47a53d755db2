// The command lines and file edits of up/down, as plain values (the engines themselves are
// exercised in up-down.test.ts).
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeDown, composeLogs, composeUp, containerPhase, networkCreate, serviceLogs, stackDeploy, stackRemove } from '../src/runtime/docker.js';
import { firstErrorLine, formatCommand } from '../src/runtime/exec.js';
import { bindSecrets, externalNetworks, serviceImages, stackDir, withoutRoutingMesh } from '../src/runtime/stack-files.js';
import type { YamlMap } from '../src/templates/merge.js';
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

  it('takes only names Docker accepts as a project name', () => {
    expect(() => stackDir('.smartmeter', 'My Stack')).toThrow(/--name must be lower-case/);
    expect(stackDir('/tmp/s', 'sm-1')).toBe('/tmp/s/sm-1');
  });
});

describe('service phases from docker inspect', () => {
  const container = (State: object, extra: object = {}) => ({ Id: 'c1', RestartCount: 0, State, Config: { Labels: {} }, ...extra });
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
    expect(s).toMatchObject({ phase: 'failed', detail: 'exited (2), 2 containers' });
  });
});

describe('up --dry-run', () => {
  it('prints the file and the commands, deploying nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-dry-'));
    const r = runCli(['up', 'local', 'single', 'no_secrets', 'inject', '--dry-run', '--name', 'dry'], { cwd: dir, env: { DOCKER_HOST: 'unix:///nonexistent.sock' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`# ${join(dir, '.smartmeter', 'dry', 'docker-compose.yml')} (credentials masked here)\n`);
    expect(r.stdout).toMatch(/^services:$/m);
    expect(r.stdout).toMatch(/^docker network create smartmeter$/m);
    expect(r.stdout).toMatch(new RegExp(`^docker(-compose --compatibility| compose) --project-name dry --file ${join(dir, '.smartmeter', 'dry', 'docker-compose.yml')} up --detach --remove-orphans$`, 'm'));
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
