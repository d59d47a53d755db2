// The one runtime interface, on the rig's real engines: the same stack name brought up on Docker
// Compose, Docker Swarm and the rig's Kubernetes (Helm) is three stacks in the per-user state
// directory; `status --json` has the same keys at every level on all three; `stacks` lists them
// from another working directory; Helm's `up` prints Compose's progress lines and, for a workload
// that cannot start, the same failure report (its log lines and its events).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './helpers/cli.js';
import { rigKubectl } from './helpers/kube.js';
import { freePort, waitFor } from './helpers/net.js';
import { rigService } from './helpers/rig.js';

const docker = rigService('docker');
const kube = rigService('kubernetes');
const helm = rigService('helm');

function dockerCli(...args: string[]): CliResult {
  const r = spawnSync('docker', args, { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: docker!.DOCKER_HOST } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every key path of a JSON value ("services[].replicas.ready"), array elements merged. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return [...new Set(value.flatMap((v) => keyPaths(v, `${prefix}[]`)))].sort();
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [`${prefix}${prefix ? '.' : ''}${k}`, ...keyPaths(v, `${prefix}${prefix ? '.' : ''}${k}`)]).sort();
  }
  return [];
}

/** Every file and directory under `dir`. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [join(dir, e.name), ...walk(join(dir, e.name))] : [join(dir, e.name)]));
}

describe.runIf(docker && kube && helm)('one runtime interface on Compose, Swarm and Helm', () => {
  const name = `smrt${process.pid % 10_000}`;
  const home = mkdtempSync(join(tmpdir(), 'smartmeter-rt-home-'));
  const work = mkdtempSync(join(tmpdir(), 'smartmeter-rt-work-'));
  const elsewhere = mkdtempSync(join(tmpdir(), 'smartmeter-rt-elsewhere-'));
  const ns = `sm-rt-${process.pid}`;
  const brokenNs = `sm-rtb-${process.pid}`;
  // The per-user state directory through XDG_STATE_HOME (no --state-dir, no SMARTMETER_STATE_DIR).
  const state = join(home, 'xdg', 'smartmeter');
  const env = () => ({
    HOME: home,
    XDG_STATE_HOME: join(home, 'xdg'),
    PATH: `${dirname(helm!.HELM!)}:${dirname(kube!.KUBECTL!)}:${process.env.PATH}`,
    DOCKER_HOST: docker!.DOCKER_HOST!, DOCKER_CONFIG: docker!.DOCKER_CONFIG!,
    KUBECONFIG: kube!.KUBECONFIG!,
    HELM_CACHE_HOME: helm!.HELM_CACHE_HOME!, HELM_CONFIG_HOME: helm!.HELM_CONFIG_HOME!, HELM_DATA_HOME: helm!.HELM_DATA_HOME!,
  });
  const cli = (args: string[], cwd = work) => runCli(args, { cwd, env: env() });
  const values = join(work, 'rig-values.yaml');
  writeFileSync(values, 'metrics: {enabled: false}\nnats: {resources: {requests: {cpu: 10m}}}\n');
  const up: Record<string, string[]> = {};

  beforeAll(async () => {
    dockerCli('swarm', 'leave', '--force'); // a swarm left over by an interrupted run
    const init = dockerCli('swarm', 'init', '--advertise-addr', '127.0.0.1');
    expect(init.status, init.stderr).toBe(0);
    const dockerArgs = async (runtime: string) => ['up', 'local', 'single', 'no_secrets', 'root', '--name', name, '--runtime', runtime, '-p', docker!.DOCKER_PROPERTIES_DIR!,
      '--set', `NATS_CLIENT_PORT=${await freePort()}`, '--set', `NATS_MONITORING_PORT=${await freePort()}`, '--set', `NETWORK_NAME=${name}${runtime}`, '--timeout', '3m'];
    up.compose = await dockerArgs('compose');
    // The rig's kernel has no IPVS: no routing mesh.
    up.swarm = [...(await dockerArgs('swarm')), '--publish-mode', 'host'];
    up.helm = ['up', 'local', 'single', 'no_secrets', 'root', '--name', name, '--runtime', 'helm', '--namespace', ns, '-p', kube!.KUBERNETES_PROPERTIES_DIR!, '--values', values, '--timeout', '4m'];
  });
  afterAll(() => {
    for (const runtime of ['compose', 'swarm', 'helm']) cli(['down', '--name', name, '--runtime', runtime, '--volumes']);
    dockerCli('swarm', 'leave', '--force');
    for (const namespace of [ns, brokenNs]) rigKubectl(kube!, ['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
  }, 300_000);

  it('the same name on three runtimes: three stacks; status --json has one shape; stacks lists them from anywhere; the state directory is private', () => {
    const results: Record<string, CliResult> = {};
    for (const runtime of ['compose', 'swarm', 'helm']) {
      results[runtime] = cli(up[runtime]!);
      expect(results[runtime]!.status, `${runtime}: ${results[runtime]!.stderr}`).toBe(0);
    }
    // Progress lines: one per change of state, the same on every runtime.
    expect(results.compose!.stderr).toMatch(/^nats: running \(healthy\)$/m);
    expect(results.swarm!.stderr).toMatch(/^nats: 1\/1 tasks$/m);
    expect(results.helm!.stderr).toMatch(/^nats: pending \(/m);
    expect(results.helm!.stderr).toMatch(/^nats: ready \(1\/1\)$/m);

    // Three stacks of one name: a lookup without --runtime is refused, naming them.
    const ambiguous = cli(['status', '--name', name]);
    expect(ambiguous.status).toBe(2);
    expect(ambiguous.stderr.trim()).toBe(`smartmeter: 3 stacks are called "${name}": compose, swarm, helm (namespace ${ns}); say which with --runtime (and --namespace)`);

    const statuses: Record<string, Record<string, unknown>> = {};
    for (const runtime of ['compose', 'swarm', 'helm']) {
      const status = cli(['status', '--name', name, '--runtime', runtime, '--json']);
      expect(status.status, `${runtime}: ${status.stderr}`).toBe(0);
      statuses[runtime] = JSON.parse(status.stdout) as Record<string, unknown>;
      expect(statuses[runtime]).toMatchObject({ runtime, name, namespace: runtime === 'helm' ? ns : null, ready: true });
      const service = (statuses[runtime]!.services as { name: string; state: string; replicas: { ready: number; desired: number } }[])[0]!;
      expect(service).toMatchObject({ name: 'nats', replicas: { ready: 1, desired: 1 } });
      expect(['healthy', 'running']).toContain(service.state);
      // up --json prints the same document.
      expect(keyPaths(JSON.parse(cli([...up[runtime]!, '--json']).stdout))).toEqual(keyPaths(statuses[runtime]));
    }
    const shape = keyPaths(statuses.compose);
    expect(shape).toEqual(['name', 'namespace', 'ready', 'runtime', 'services', 'services[].detail', 'services[].name', 'services[].replicas',
      'services[].replicas.desired', 'services[].replicas.ready', 'services[].state']);
    expect(keyPaths(statuses.swarm)).toEqual(shape);
    expect(keyPaths(statuses.helm)).toEqual(shape);

    // From another directory: every stack, with its runtime, namespace, targets and directory.
    const listed = cli(['stacks', '--json'], elsewhere);
    expect(listed.status, listed.stderr).toBe(0);
    const stacks = JSON.parse(listed.stdout) as { stateDir: string; stacks: { name: string; runtime: string; namespace: string | null; targets: string[]; secretMode: string; createdAt: string; updatedAt: string; dir: string }[] };
    expect(stacks.stateDir).toBe(state);
    expect(stacks.stacks.map((s) => [s.runtime, s.namespace, s.name, s.dir])).toEqual([
      ['compose', null, name, join(state, 'stacks', 'compose', name)],
      ['swarm', null, name, join(state, 'stacks', 'swarm', name)],
      ['helm', ns, name, join(state, 'stacks', 'helm', ns, name)],
    ]);
    for (const s of stacks.stacks) {
      expect(s).toMatchObject({ targets: ['root'], secretMode: 'no_secrets' });
      // The second up (--json above) updated the stack, keeping its creation time.
      expect(Date.parse(s.updatedAt)).toBeGreaterThan(Date.parse(s.createdAt));
    }
    const table = cli(['stacks'], elsewhere);
    expect(table.stdout).toMatch(new RegExp(`^${name} +helm \\(namespace ${ns}\\) +local single no_secrets root +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d +${join(state, 'stacks', 'helm', ns, name)}$`, 'm'));
    // And status, logs and down work from there too.
    expect(cli(['logs', 'nats', '--name', name, '--runtime', 'compose', '--no-follow', '--tail', '5'], elsewhere).status).toBe(0);

    // Private: the state directory and every stack's 0700; a file holding the NATS password (no_secrets
    // mode) 0600, as every record. (The configuration the containers mount, config/, is readable to them.)
    for (const path of [state, ...walk(state).filter((p) => !p.includes('/config'))]) {
      const stat = statSync(path);
      if (stat.isDirectory()) expect(stat.mode & 0o777, path).toBe(0o700);
      else if (path.endsWith('stack.json') || path.endsWith('docker-compose.yml') || path.endsWith('values.yaml')) expect(stat.mode & 0o777, path).toBe(0o600);
    }

    for (const runtime of ['compose', 'swarm', 'helm']) {
      const down = cli(['down', '--name', name, '--runtime', runtime, '--volumes'], elsewhere);
      expect(down.status, down.stderr).toBe(0);
    }
    expect(JSON.parse(cli(['stacks', '--json'], elsewhere).stdout)).toEqual({ stateDir: state, stacks: [] });
    expect(readdirSync(join(state, 'stacks', 'helm'))).toEqual([]);
  }, 900_000);

  it('Helm: a workload that cannot start gets the failure report of Compose (its log lines and events), after the progress lines', async () => {
    const broken = join(work, 'broken-values.yaml');
    writeFileSync(broken, 'images: {nats: {repository: smartmeter-rig/no-such-image, tag: "1"}}\n');
    const r = cli(['up', 'local', 'single', 'no_secrets', 'root', '--name', name, '--runtime', 'helm', '--namespace', brokenNs, '-p', kube!.KUBERNETES_PROPERTIES_DIR!,
      '--values', values, '--values', broken, '--timeout', '40s']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^nats: (pending|failed)/m);
    expect(r.stderr).toMatch(/^nats is not ready: failed: (ErrImagePull|ImagePullBackOff)/m);
    expect(r.stderr).toContain(`--- last log lines of pod ${name}-nats-0 ---\n`);
    expect(r.stderr).toContain(`--- events of pod ${name}-nats-0 ---\n`);
    expect(r.stderr).toMatch(/Warning Failed: Failed to pull image "smartmeter-rig\/no-such-image:1"/);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^smartmeter: helm upgrade --install ${name} failed: .*; not ready: nats \\(failed: `));
    // A first install that failed is removed, its record too.
    expect(JSON.parse(cli(['stacks', '--json'], elsewhere).stdout).stacks).toEqual([]);
    await waitFor(async () => (rigKubectl(kube!, ['get', 'namespace', brokenNs]).status !== 0 ? true : undefined), 180_000, `namespace ${brokenNs} deleted`);
  }, 400_000);
});
