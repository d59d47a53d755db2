// The rig's one-node Kubernetes, for real: pods run, DNS and Services work, nothing touches the
// host's network; and the whole pipeline through `smartmeter up --runtime helm`, hardened as the
// chart ships (non-root, read-only roots, capabilities dropped, probes): NATS, Cassandra with its
// init Job, ingest, the indexed inject Job, Graphite with Telegraf, Prometheus; in secrets mode; a
// deleted ingest pod replaced without losing a reading; cluster mode's NATS routes; a failure
// reported with the workload's logs and events.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { runCli, type CliResult } from './helpers/cli.js';
import { freePort, waitFor } from './helpers/net.js';
import { rigKubectl, rigKubectlOk } from './helpers/kube.js';
import { rigService } from './helpers/rig.js';

const kube = rigService('kubernetes');
const helmRig = rigService('helm');
const docker = rigService('docker');
const NATS_USER = 'deetazilla'; // the properties' defaults (no_secrets mode)
const NATS_PASSWORD = 'xyz1234';

const kubectl = (args: string[], input?: string): CliResult => rigKubectl(kube!, args, input);
const kubectlOk = (args: string[], input?: string): string => rigKubectlOk(kube!, args, input);

/**
 * Runs a pod to completion and returns its output: created, waited for (Succeeded or Failed),
 * its log read, then deleted. Not `kubectl run --attach --rm`: a container that exits before
 * kubectl attaches loses its output there.
 */
async function runPod(ns: string, name: string, image: string, command: string[]): Promise<CliResult> {
  kubectlOk(['-n', ns, 'run', name, `--image=${image}`, '--image-pull-policy=Never', '--restart=Never', '--command', '--', ...command]);
  try {
    const phase = await waitFor(async () => {
      const p = kubectl(['-n', ns, 'get', 'pod', name, '-o', 'jsonpath={.status.phase}']).stdout.trim();
      return p === 'Succeeded' || p === 'Failed' ? p : undefined;
    }, 120_000, `pod ${name} to finish`);
    const logs = kubectl(['-n', ns, 'logs', name]);
    return { status: phase === 'Succeeded' ? 0 : 1, stdout: logs.stdout, stderr: logs.stderr };
  } finally {
    kubectl(['-n', ns, 'delete', 'pod', name, '--wait=false']);
  }
}

/** Inside the node's namespaces (what the host cannot see). */
function inNode(args: string[]): CliResult {
  const ns = kube!.KUBERNETES_NODE_NS!;
  const r = spawnSync('nsenter', [`--net=${ns}/net`, `--mount=${ns}/mnt`, '--', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const created: string[] = [];
/** Releases a test brought up and has not taken down: a failed test's are removed before the next starts. */
const live = new Set<Release>();
afterEach(async () => {
  for (const release of live) {
    live.delete(release);
    release.cli(['down', '--volumes']);
    kubectl(['delete', 'namespace', release.ns, '--ignore-not-found', '--wait=false']);
    await namespaceDeleted(release.ns).catch(() => undefined);
  }
}, 240_000);
afterAll(() => {
  for (const ns of created) kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']);
});

describe.runIf(kube && docker)('the rig\'s one-node Kubernetes', () => {
  it('runs pods: a client pod resolves a Service and a StatefulSet pod by name through CoreDNS and talks to NATS behind them', async () => {
    const ns = `rig-dns-${process.pid}`;
    created.push(ns);
    expect(kubectlOk(['get', 'node', '-o', 'jsonpath={.items[0].status.conditions[?(@.type=="Ready")].status}'])).toBe('True');
    kubectlOk(['apply', '-f', '-'], `apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
---
apiVersion: v1
kind: Service
metadata: {name: broker, namespace: ${ns}}
spec: {selector: {app: broker}, ports: [{port: 4222}]}
---
apiVersion: v1
kind: Service
metadata: {name: broker-headless, namespace: ${ns}}
spec: {clusterIP: None, selector: {app: broker}, ports: [{port: 4222}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: broker, namespace: ${ns}}
spec:
  serviceName: broker-headless
  replicas: 1
  selector: {matchLabels: {app: broker}}
  template:
    metadata: {labels: {app: broker}}
    spec:
      containers: [{name: nats, image: ${docker!.DOCKER_NATS_IMAGE}, imagePullPolicy: Never, args: [--port, "4222"], readinessProbe: {tcpSocket: {port: 4222}, periodSeconds: 1}}]
`);
    kubectlOk(['-n', ns, 'rollout', 'status', 'statefulset/broker', '--timeout=120s']);
    // The NATS greeting (INFO …) read through the ClusterIP (kube-proxy's rules) and through the pod's own DNS name.
    const script = 'for host in broker broker-0.broker-headless; do getent hosts $host.' + ns + '.svc.cluster.local || exit 1; '
      + 'exec 3<>/dev/tcp/$host/4222; head -c 4 <&3; echo " from $host"; exec 3<&-; done';
    const r = await runPod(ns, 'client', docker!.DOCKER_BASE_IMAGE!, ['bash', '-c', script]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/INFO from broker\n/);
    expect(r.stdout).toMatch(/INFO from broker-0\.broker-headless\n/);
    // kubectl logs reads a pod's output through the API server and the kubelet.
    expect(kubectlOk(['-n', ns, 'logs', 'broker-0'])).toMatch(/Server is ready/);
    // A pod asking kubelet's API directly is refused: it has no certificate of the rig's CA.
    const probe = `require('https').get({ host: '10.250.0.2', port: 10250, path: '/pods', rejectUnauthorized: false }, (r) => { console.log('kubelet says', r.statusCode); process.exit(0); }).on('error', (e) => { console.log('error', e.message); process.exit(1); })`;
    const kubelet = await runPod(ns, 'kubelet-probe', docker!.DOCKER_SMARTMETER_IMAGE!, ['node', '-e', probe]);
    expect(kubelet.stdout, kubelet.stderr).toMatch(/^kubelet says 401$/m);
  }, 240_000);

  it('keeps to its namespaces: its bridge, veth and kube-proxy rules exist inside, not on the host', () => {
    expect(inNode(['ip', 'link', 'show', 'cni0']).status).toBe(0);
    expect(inNode(['iptables', '-t', 'nat', '-S', 'KUBE-SERVICES']).status).toBe(0);
    // On the host the same commands work (lo, the nat table) but find none of the cluster's.
    const host = (command: string, args: string[]) => spawnSync(command, args, { encoding: 'utf8' });
    expect(host('ip', ['link', 'show', 'lo']).status).toBe(0);
    expect(host('ip', ['link', 'show', 'cni0']).stderr).toMatch(/does not exist/);
    expect(host('ip', ['link', 'show', 'node0']).stderr).toMatch(/does not exist/);
    expect(host('iptables', ['-t', 'nat', '-S']).status).toBe(0);
    expect(host('iptables', ['-t', 'nat', '-S']).stdout).not.toMatch(/KUBE-/);
    // kubelet wrote its sysctls into private copies: inside, /proc/sys/vm/overcommit_memory is a bind mount.
    expect(inNode(['sh', '-c', 'grep " /proc/sys/vm/overcommit_memory " /proc/self/mountinfo']).status).toBe(0);
    expect(spawnSync('sh', ['-c', 'grep " /proc/sys/vm/overcommit_memory " /proc/self/mountinfo']).status).not.toBe(0);
  });
});

interface HardenedPod {
  metadata: { name: string };
  spec: {
    securityContext?: Record<string, unknown>;
    automountServiceAccountToken?: boolean;
    containers: { name: string; securityContext?: Record<string, unknown> }[];
    initContainers?: { name: string; securityContext?: Record<string, unknown> }[];
  };
}

interface Release {
  ns: string;
  state: string;
  cli: (args: string[]) => CliResult;
}

function newRelease(label: string): Release {
  const ns = `sm-${label}-${process.pid}`;
  created.push(ns);
  const home = mkdtempSync(join(tmpdir(), `smartmeter-k8s-${label}-`));
  const state = join(home, 'state');
  const env = {
    PATH: `${dirname(helmRig!.HELM!)}:${dirname(kube!.KUBECTL!)}:${process.env.PATH}`,
    KUBECONFIG: kube!.KUBECONFIG!,
    HELM_CACHE_HOME: helmRig!.HELM_CACHE_HOME!, HELM_CONFIG_HOME: helmRig!.HELM_CONFIG_HOME!, HELM_DATA_HOME: helmRig!.HELM_DATA_HOME!,
  };
  const cli = (args: string[]) => runCli([...args, '--name', 'meters', '--state-dir', state], { cwd: home, env });
  const release = { ns, state, cli };
  live.add(release);
  return release;
}

/** `values` in a file of its own, for `up --values` (repeatable: later files win). */
function valuesFile(values: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'smartmeter-k8s-values-')), 'values.yaml');
  writeFileSync(file, values);
  return file;
}
/**
 * The chart hardened as it ships (non-root, read-only root filesystems, capabilities dropped),
 * with what the rig's images need: Cassandra's start script writes its configuration into
 * /opt/cassandra/conf and Debian's carbon writes its log and pid files; so both get emptyDirs there,
 * and Cassandra's root filesystem is read-only too. Small CPU requests: the node has 2 cores.
 */
const RIG_VALUES = valuesFile(`
cassandra: {readOnlyRootFilesystem: true, writableDirs: [/tmp, /opt/cassandra/conf], resources: {requests: {cpu: 10m, memory: 256Mi}}}
nats: {resources: {requests: {cpu: 10m}}}
ingest: {resources: {requests: {cpu: 10m}}}
inject: {resources: {requests: {cpu: 10m}}}
metrics:
  graphite: {writableDirs: [/tmp, /var/log/carbon, /run], resources: {requests: {cpu: 10m}}}
  telegraf: {resources: {requests: {cpu: 10m}}}
  cassandraStats: {resources: {requests: {cpu: 10m}}}
  prometheus: {resources: {requests: {cpu: 10m}}}
  grafana: {resources: {requests: {cpu: 10m}}}
`);
/** Light settings for a 2-core machine: small Cassandra heap, a short inject run. */
const LIGHT = `cassandra: {maxHeapSize: 512M, heapNewSize: 128M}\n`;

/** `SELECT count(*)` and the per-line counters, from inside the cluster (the ingest pod has node and the driver). */
function cassandraCounts(ns: string): { rows: number; lines: Record<number, number> } {
  const script = `const c = new (require('cassandra-driver').Client)({contactPoints: ['meters-cassandra'], localDataCenter: 'dc1', keyspace: 'smartmeter'});
(async () => {
  const rows = Number((await c.execute('SELECT count(*) FROM raw_data')).rows[0].count);
  const lines = Object.fromEntries((await c.execute('SELECT line, count FROM raw_data_count')).rows.map((r) => [r.line, Number(r.count)]));
  console.log(JSON.stringify({ rows, lines }));
  await c.shutdown();
})().catch((e) => { console.error(e.message); process.exit(1); });`;
  return JSON.parse(kubectlOk(['-n', ns, 'exec', 'deploy/meters-ingest', '-c', 'ingest', '--', 'node', '-e', script])) as { rows: number; lines: Record<number, number> };
}

/** The inject pods' summaries: slot, voltage readings published, lost. */
function injectSummaries(ns: string): { pod: string; slot: number; voltage: number; published: number; confirmed: number; lost: number }[] {
  const pods = (JSON.parse(kubectlOk(['-n', ns, 'get', 'pods', '-l', 'app.kubernetes.io/component=inject', '-o', 'json'])) as { items: { metadata: { name: string }; status: { phase: string } }[] }).items;
  return pods.filter((p) => p.status.phase === 'Succeeded').map((p) => {
    const log = kubectlOk(['-n', ns, 'logs', p.metadata.name, '-c', 'inject']);
    const published = /^published\s+(\d+) \(temperature \d+, forecast \d+, voltage (\d+)\)$/m.exec(log);
    expect(published, log).not.toBeNull();
    return {
      pod: p.metadata.name,
      slot: Number(/\(slot (\d+)\)$/m.exec(log)?.[1]),
      voltage: Number(published![2]),
      published: Number(published![1]),
      confirmed: Number(/^confirmed\s+(\d+)/m.exec(log)?.[1]),
      lost: Number(/^lost\s+(\d+)/m.exec(log)?.[1]),
    };
  });
}

function waitForInjectDone(ns: string, pods: number, timeoutMs: number): Promise<true> {
  return waitFor(async () => {
    const job = JSON.parse(kubectlOk(['-n', ns, 'get', 'jobs', '-l', 'app.kubernetes.io/component=inject', '-o', 'json'])) as { items: { status: { succeeded?: number; failed?: number } }[] };
    return job.items[0]?.status.succeeded === pods ? true : undefined;
  }, timeoutMs, 'the inject Job to complete');
}

/** `down --volumes`, then nothing of the release is left. */
async function downLeavesNothing(release: Release): Promise<void> {
  live.delete(release);
  const down = release.cli(['down', '--volumes']);
  expect(down.status, down.stderr).toBe(0);
  await expectGone(release.ns);
}

/** Resolves once namespace `ns` is gone (its objects deleted first); rejects after 3 minutes. */
function namespaceDeleted(ns: string): Promise<true> {
  return waitFor(async () => (kubectl(['get', 'namespace', ns]).status !== 0 ? true : undefined), 180_000, `namespace ${ns} deleted`);
}

/** Nothing of the release in its namespace, and the namespace itself gone. */
async function expectGone(ns: string): Promise<void> {
  await namespaceDeleted(ns);
  // Every test's release is called meters: only objects in this test's namespace count.
  const left = kubectlOk(['get', 'pods,pvc,secrets,configmaps,services', '-A', '-l', 'app.kubernetes.io/instance=meters',
    '-o', 'jsonpath={range .items[*]}{.kind}/{.metadata.name} {.metadata.namespace}{"\\n"}{end}']);
  expect(kubectlOk(['get', 'pvc', '-A', '-o', 'name']).split('\n').filter((l) => l.includes(ns))).toEqual([]);
  expect(left.split('\n').filter((l) => l.endsWith(` ${ns}`))).toEqual([]);
}

/** Each restarted container of a component: its pod, exit code and reason, and the last lines it wrote. */
function restartCauses(ns: string, component: string): string {
  const pods = JSON.parse(kubectlOk(['-n', ns, 'get', 'pods', '-l', `app.kubernetes.io/component=${component}`, '-o', 'json'])) as {
    items: { metadata: { name: string }; status: { containerStatuses?: { restartCount: number; lastState?: { terminated?: { exitCode: number; reason?: string } } }[] } }[];
  };
  return pods.items.flatMap((pod) => (pod.status.containerStatuses ?? []).filter((c) => c.restartCount > 0).map((c) => {
    const last = c.lastState?.terminated;
    const tail = kubectl(['-n', ns, 'logs', pod.metadata.name, '--previous', '--tail', '5']).stdout.trim();
    return `${pod.metadata.name}: exit ${last?.exitCode} ${last?.reason ?? ''}\n${tail}`;
  })).join('\n') || 'none found';
}

// root_metrics brings the NATS Telegraf sidecar and the NATS exporter (left out below: no image here); metrics brings Prometheus.
const TARGETS = ['root_metrics', 'cassandra_inject_metrics', 'inject_metrics'];

describe.runIf(kube && helmRig && docker)('smartmeter up --runtime helm on the rig\'s cluster (pods really run)', () => {
  it('single, no_secrets: progress lines, the schema, two inject pods on two slots, every voltage reading a row, Graphite fed by inject and Telegraf; status, logs, down --volumes', async () => {
    const release = newRelease('single');
    const started = Date.now();
    const up = release.cli(['up', 'local', 'single', 'no_secrets', ...TARGETS, '--runtime', 'helm', '--namespace', release.ns, '-p', kube!.KUBERNETES_PROPERTIES_DIR!,
      // No image of the NATS exporter here: the Go module proxy does not serve it (the rig builds the others).
      '--without', 'grafana', '--without', 'prometheus_nats_exporter', '--set', 'GATLING_USERS_PER_SEC=100', '--set', 'GATLING_DURATION=1',
      '--values', RIG_VALUES, '--values', valuesFile(`${LIGHT}inject: {parallelism: 2}\n`), '--timeout', '8m']);
    const upSeconds = (Date.now() - started) / 1000;
    expect(up.status, up.stderr).toBe(0);
    console.log(`up --runtime helm to all-ready: ${upSeconds.toFixed(1)} s`);
    // One line per change of state, as on Compose: pending first, then ready; the init Job ends done.
    expect(up.stderr).toMatch(/^cassandra: pending \(/m);
    expect(up.stderr).toMatch(/^cassandra: ready \(1\/1\)$/m);
    expect(up.stderr).toMatch(/^nats: ready \(1\/1\)$/m);
    expect(up.stderr).toMatch(/^ingest: ready \(1\/1(, \d+ restarts)?\)$/m);
    expect(up.stderr).toMatch(/^cassandra-init: done$/m);
    expect(up.stderr).toMatch(/^inject: running \(2\/2\)$/m);
    const final = (JSON.parse(release.cli(['status', '--json']).stdout) as { services: { name: string; state: string }[] }).services;
    for (const s of final) expect(['healthy', 'completed'], `${s.name} ${s.state}`).toContain(s.state);
    expect(final.map((s) => s.name)).toEqual(expect.arrayContaining(['cassandra', 'ingest', 'inject', 'nats', 'graphite', 'cassandra-stats', 'prometheus']));
    expect(final.map((s) => s.name)).not.toContain('grafana');
    // Hardened as the chart ships: every pod non-root under seccomp, every container with a
    // read-only root, no capability and no privilege escalation; and the programs run as that user.
    const pods = (JSON.parse(kubectlOk(['-n', release.ns, 'get', 'pods', '-o', 'json'])) as { items: HardenedPod[] }).items;
    expect(pods.length).toBeGreaterThanOrEqual(8);
    for (const pod of pods) {
      expect(pod.spec.securityContext, pod.metadata.name).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.spec.automountServiceAccountToken, pod.metadata.name).toBe(false);
      for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
        expect(c.securityContext, `${pod.metadata.name} ${c.name}`).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      }
    }
    expect(kubectlOk(['-n', release.ns, 'exec', 'meters-nats-0', '-c', 'nats', '--', 'id', '-u']).trim()).toBe('10001');
    expect(kubectlOk(['-n', release.ns, 'exec', 'meters-cassandra-0', '--', 'id', '-u']).trim()).toBe('999');
    expect(kubectl(['-n', release.ns, 'exec', 'meters-nats-0', '-c', 'nats', '--', 'touch', '/etc/written']).stderr).toMatch(/Read-only file system/);
    // The chart's own Prometheus (the compose stack's, on Kubernetes) scrapes the targets it finds by DNS.
    const targets = await waitFor(async () => {
      const answer = kubectl(['-n', release.ns, 'exec', 'deploy/meters-ingest', '-c', 'ingest', '--', 'node', '-e',
        "fetch('http://meters-prometheus:9090/api/v1/targets').then((r) => r.json()).then((j) => console.log(JSON.stringify(j.data.activeTargets.map((t) => [t.labels.job, t.health]))))"]);
      const list = answer.status === 0 ? (JSON.parse(answer.stdout) as [string, string][]) : [];
      const up = new Set(list.filter(([, health]) => health === 'up').map(([job]) => job));
      return ['ingest', 'cassandra-stats', 'nats', 'prometheus'].every((job) => up.has(job)) ? list : undefined;
    }, 120_000, 'Prometheus targets up');
    console.log(`Prometheus targets: ${targets.map(([job, health]) => `${job} ${health}`).join(', ')}`);

    // The init Job made the schema (ingest only reads once the tables exist, and it is ready).
    await waitForInjectDone(release.ns, 2, 240_000);
    const summaries = injectSummaries(release.ns);
    expect(summaries.map((s) => s.slot).sort()).toEqual([0, 1]);
    for (const s of summaries) {
      expect(s.voltage).toBeGreaterThan(100);
      expect(s.lost).toBe(0);
      expect(s.confirmed).toBe(s.published);
    }
    const voltage = summaries.reduce((sum, s) => sum + s.voltage, 0);
    // Every voltage reading becomes one row (ingest may still be writing the last ones).
    const counts = await waitFor(async () => {
      const c = cassandraCounts(release.ns);
      return c.rows >= voltage ? c : undefined;
    }, 60_000, `${voltage} rows`);
    expect(counts.rows).toBe(voltage);
    // Slot k writes lines 10k+1 … 10k+10: two distinct sets of lines, their counters summing to the rows.
    const lines = Object.keys(counts.lines).map(Number);
    expect(lines.filter((l) => l >= 1 && l <= 10).length).toBeGreaterThan(0);
    expect(lines.filter((l) => l >= 11 && l <= 20).length).toBeGreaterThan(0);
    expect(lines.every((l) => l >= 1 && l <= 20)).toBe(true);
    expect(Object.values(counts.lines).reduce((a, b) => a + b, 0)).toBe(voltage);
    console.log(`inject: ${summaries.map((s) => `slot ${s.slot} ${s.voltage} voltage readings`).join(', ')}; rows ${counts.rows}`);

    // Graphite in the cluster got inject's series (both slots) and Telegraf's NATS series.
    const graphitePod = 'meters-graphite-0';
    const files = kubectlOk(['-n', release.ns, 'exec', graphitePod, '--', 'find', '/var/lib/graphite/whisper', '-name', '*.wsp']).split('\n');
    expect(files).toEqual(expect.arrayContaining(['/var/lib/graphite/whisper/smartmeter/inject/slot0/published.wsp', '/var/lib/graphite/whisper/smartmeter/inject/slot1/published.wsp']));
    // The Telegraf sidecar of the NATS pod: <prefix>.nats.<instance>.<field>.
    expect(files.some((f) => f.startsWith('/var/lib/graphite/whisper/smartmeter/nats/meters-nats-0/')), files.join('\n')).toBe(true);
    const fetched = kubectlOk(['-n', release.ns, 'exec', graphitePod, '--', 'whisper-fetch', '--from', String(Math.floor(Date.now() / 1000) - 900), '/var/lib/graphite/whisper/smartmeter/inject/slot0/published.wsp']);
    const values = fetched.split('\n').map((l) => Number(l.split('\t')[1])).filter((v) => Number.isFinite(v));
    expect(Math.max(...values)).toBe(summaries.find((s) => s.slot === 0)!.published);

    const status = release.cli(['status', '--json']);
    expect(status.status, status.stdout + status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ runtime: 'helm', name: 'meters', namespace: release.ns, ready: true });
    expect(release.cli(['status']).stdout).toMatch(new RegExp(`^meters \\(namespace ${release.ns}\\) revision 1: deployed, deployed `, 'm'));
    const logs = release.cli(['logs', 'ingest', '--no-follow', '--tail', '50']);
    expect(logs.status, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/meters-ingest-/);

    await downLeavesNothing(release);
  }, 900_000);

  it('secrets, JetStream: clients authenticate with the Secret from the files; an ingest pod deleted mid-run is replaced and no reading is lost', async () => {
    const release = newRelease('secrets');
    const secrets = mkdtempSync(join(tmpdir(), 'smartmeter-k8s-secrets-'));
    const password = `pw$-${process.pid}-s3cret`; // a `$`: Compose's escape character must reach the Secret and the clients as it is
    for (const [file, value] of Object.entries({ nats_username_secret: 'meter', nats_password_secret: password, nats_cluster_username_secret: 'route', nats_cluster_password_secret: `${password}-route` })) {
      writeFileSync(join(secrets, file), `${value}\n`);
      chmodSync(join(secrets, file), 0o600);
    }
    const up = release.cli(['up', 'local', 'single', 'secrets', 'cassandra_inject', 'inject', '--runtime', 'helm', '--namespace', release.ns, '-p', kube!.KUBERNETES_PROPERTIES_DIR!,
      '--secrets-dir', secrets, '--set', 'GATLING_USERS_PER_SEC=100', '--set', 'GATLING_DURATION=1',
      '--values', RIG_VALUES, '--values', valuesFile(`${LIGHT}ingest: {jetstream: true}\n`), '--timeout', '8m']);
    expect(up.status, up.stderr).toBe(0);
    expect(up.stderr).not.toContain(password);
    // The password sits in the chart's Secret, not in the values file.
    const secret = JSON.parse(kubectlOk(['-n', release.ns, 'get', 'secret', 'meters-nats-auth', '-o', 'json'])) as { data: Record<string, string> };
    expect(Buffer.from(secret.data.password!, 'base64').toString()).toBe(password);
    // Mid-run: the ingest pod goes; its Deployment starts another, which takes over the durable consumer.
    const before = kubectlOk(['-n', release.ns, 'get', 'pods', '-l', 'app.kubernetes.io/component=ingest', '-o', 'jsonpath={.items[0].metadata.name}']);
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    kubectlOk(['-n', release.ns, 'delete', 'pod', before, '--wait=false']);
    await waitFor(async () => {
      const names = kubectlOk(['-n', release.ns, 'get', 'pods', '-l', 'app.kubernetes.io/component=ingest', '--field-selector', 'status.phase=Running', '-o', 'jsonpath={.items[*].metadata.name}']);
      return names && !names.includes(before) ? true : undefined;
    }, 120_000, 'a new ingest pod');
    await waitForInjectDone(release.ns, 1, 240_000);
    const [summary] = injectSummaries(release.ns);
    expect(summary!.lost).toBe(0);
    const counts = await waitFor(async () => {
      try {
        const c = cassandraCounts(release.ns);
        return c.rows >= summary!.voltage ? c : undefined;
      } catch {
        return undefined; // the new pod may not be ready yet
      }
    }, 120_000, `${summary!.voltage} rows`);
    expect(counts.rows).toBe(summary!.voltage);
    console.log(`self-healing: ingest pod ${before} deleted mid-run; ${counts.rows} rows for ${summary!.voltage} voltage readings`);
    await downLeavesNothing(release);
  }, 900_000);

  it('cluster mode: three NATS pods with routes; a message published on one is received through another', async () => {
    const release = newRelease('cluster');
    const up = release.cli(['up', 'local', 'cluster', 'no_secrets', 'root', '--runtime', 'helm', '--namespace', release.ns, '-p', kube!.KUBERNETES_PROPERTIES_DIR!,
      '--values', RIG_VALUES, '--values', valuesFile('metrics: {enabled: false}\n'), '--timeout', '5m', '--json']);
    expect(up.status, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout)).toEqual({ runtime: 'helm', name: 'meters', namespace: release.ns, ready: true, services: [{ name: 'nats', state: 'healthy', detail: 'ready (3/3)', replicas: { ready: 3, desired: 3 } }] });
    const forwards: ChildProcess[] = [];
    const connections: NatsConnection[] = [];
    try {
      const ports: number[] = [];
      for (const pod of ['meters-nats-0', 'meters-nats-2']) {
        const port = await freePort();
        const child = spawn(kube!.KUBECTL!, ['-n', release.ns, 'port-forward', `pod/${pod}`, `${port}:4222`], { env: { ...process.env, KUBECONFIG: kube!.KUBECONFIG! }, stdio: ['ignore', 'pipe', 'pipe'] });
        forwards.push(child);
        await new Promise<void>((resolve, reject) => {
          child.stdout!.on('data', (chunk: Buffer) => (/Forwarding from/.test(chunk.toString()) ? resolve() : undefined));
          child.once('exit', (code) => reject(new Error(`kubectl port-forward exited ${code}`)));
        });
        ports.push(port);
      }
      // Each client stays on its own pod (no cluster URLs: the pods' addresses are not the host's).
      const options = (port: number) => ({ servers: `127.0.0.1:${port}`, user: NATS_USER, pass: NATS_PASSWORD, ignoreClusterUpdates: true, reconnect: false });
      const receiver = await connect(options(ports[1]!));
      const sender = await connect(options(ports[0]!));
      connections.push(receiver, sender);
      expect(receiver.info?.server_name).toBe('meters-nats-2');
      expect(sender.info?.server_name).toBe('meters-nats-0');
      const subscription = receiver.subscribe('route.check', { max: 1 });
      await receiver.flush();
      // The interest reaches the other servers over the routes; publish until one message comes through.
      const received = (async () => {
        for await (const m of subscription) return new TextDecoder().decode(m.data);
        return undefined;
      })();
      const sending = setInterval(() => sender.publish('route.check', 'over the route'), 200);
      try {
        expect(await Promise.race([received, new Promise((resolve) => setTimeout(() => resolve('timeout'), 20_000))])).toBe('over the route');
      } finally {
        clearInterval(sending);
      }
      const routes = kubectlOk(['-n', release.ns, 'exec', 'meters-nats-1', '-c', 'nats', '--', 'wget', '-qO-', 'http://127.0.0.1:8222/routez']);
      expect((JSON.parse(routes) as { num_routes: number }).num_routes).toBeGreaterThanOrEqual(2);
    } finally {
      for (const c of connections) await c.close().catch(() => undefined);
      for (const f of forwards) f.kill();
    }
    await downLeavesNothing(release);
  }, 600_000);

  it('cluster mode: three Cassandra pods (small heaps) form one ring, the schema Job makes the keyspace with replication factor 3, and ingest\'s batches (grouped by replica) store every reading', async () => {
    const release = newRelease('ring');
    const started = Date.now();
    const up = release.cli(['up', 'local', 'cluster', 'no_secrets', 'cassandra_inject', 'inject', '--runtime', 'helm', '--namespace', release.ns, '-p', kube!.KUBERNETES_PROPERTIES_DIR!,
      '--set', 'GATLING_USERS_PER_SEC=100', '--set', 'GATLING_DURATION=1',
      '--values', RIG_VALUES, '--values', valuesFile('metrics: {enabled: false}\nnats: {replicas: 1}\ncassandra: {maxHeapSize: 384M, heapNewSize: 96M}\n'), '--timeout', '12m', '--json']);
    expect(up.status, up.stderr).toBe(0);
    console.log(`cluster mode, 3 Cassandra pods: up to all-ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const statuses = (JSON.parse(up.stdout) as { services: { name: string; state: string; detail: string }[] }).services;
    // A busy machine may see a node restarted while it joins (Kubernetes heals it, which is the point);
    // the ring must still form. The restart's cause is printed for whoever reads the run.
    const cassandra = statuses.find((s) => s.name === 'cassandra');
    expect(cassandra).toMatchObject({ state: 'healthy', replicas: { ready: 3, desired: 3 } });
    expect(cassandra!.detail).toMatch(/^ready \(3\/3(, \d+ restarts)?\)$/);
    if (cassandra!.detail.includes('restarts')) console.log(`cluster mode: Cassandra restarts: ${restartCauses(release.ns, 'cassandra')}`);
    // The schema Job may still be running when the servers are ready (up takes a running Job as up,
    // as it does inject's): it ends done.
    expect(['healthy', 'completed']).toContain(statuses.find((s) => s.name === 'cassandra-init')?.state);
    await waitFor(async () => {
      const now = JSON.parse(release.cli(['status', '--json']).stdout) as { services: { name: string; state: string }[] };
      return now.services.find((s) => s.name === 'cassandra-init')?.state === 'completed' ? true : undefined;
    }, 180_000, 'the schema Job done');
    // Asked from a pod of the smartmeter image: the peers node 0 knows, and the keyspace's replication.
    const script = `const c = new (require('cassandra-driver').Client)({contactPoints: ['meters-cassandra'], localDataCenter: 'dc1'});
(async () => {
  const peers = (await c.execute('SELECT peer FROM system.peers')).rows.length;
  const replication = (await c.execute("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = 'smartmeter'")).rows[0].replication;
  console.log(JSON.stringify({ peers, hosts: c.getState().getConnectedHosts().length, replication }));
  await c.shutdown();
})().catch((e) => { console.error(e.message); process.exit(1); });`;
    const image = (JSON.parse(kubectlOk(['-n', release.ns, 'get', 'jobs', '-o', 'json'])) as { items: { spec: { template: { spec: { containers: { image: string }[] } } } }[] }).items[0]!.spec.template.spec.containers[0]!.image;
    const check = await runPod(release.ns, 'ring-check', image, ['node', '-e', script]);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const out = check.stdout;
    const ring = JSON.parse(out.trim().split('\n').at(-1)!) as { peers: number; replication: Record<string, string> };
    expect(ring.peers).toBe(2);
    expect(ring.replication).toMatchObject({ dc1: '3' });
    // ingest knows three hosts: its batches group rows by the replicas of their partitions.
    // Cluster mode: two inject pods, three ingest replicas.
    await waitForInjectDone(release.ns, 2, 300_000);
    const voltage = injectSummaries(release.ns).reduce((sum, s) => sum + s.voltage, 0);
    const counts = await waitFor(async () => {
      const c = cassandraCounts(release.ns);
      return c.rows >= voltage ? c : undefined;
    }, 120_000, `${voltage} rows`);
    expect(counts.rows).toBe(voltage);
    // Each ingest replica's counters, summed: every row written once, in at most as many requests.
    const ingestPods = kubectlOk(['-n', release.ns, 'get', 'pods', '-l', 'app.kubernetes.io/component=ingest', '-o', 'jsonpath={.items[*].metadata.name}']).split(' ');
    let written = 0;
    let requests = 0;
    for (const pod of ingestPods) {
      const metrics = kubectlOk(['-n', release.ns, 'exec', pod, '-c', 'ingest', '--', 'node', '-e',
        "fetch('http://127.0.0.1:9464/metrics').then((r) => r.text()).then((t) => console.log(t))"]);
      written += Number(/^smartmeter_ingest_written_total\{[^}]*\} (\d+)$/m.exec(metrics)?.[1]);
      requests += Number(/^smartmeter_ingest_write_requests_total\{[^}]*\} (\d+)$/m.exec(metrics)?.[1]);
    }
    // A counter lives as long as its container: an ingest container restarted on a busy machine
    // (Kubernetes healing it) takes its count along, while the rows above stay complete.
    const ingestRestarts = (JSON.parse(kubectlOk(['-n', release.ns, 'get', 'pods', '-l', 'app.kubernetes.io/component=ingest', '-o', 'json'])) as { items: { status: { containerStatuses?: { restartCount: number }[] } }[] }).items
      .flatMap((pod) => pod.status.containerStatuses ?? []).reduce((sum, c) => sum + c.restartCount, 0);
    if (ingestRestarts === 0) expect(written).toBe(voltage);
    else expect(written).toBeLessThanOrEqual(voltage);
    expect(requests).toBeGreaterThan(0);
    expect(requests).toBeLessThanOrEqual(written);
    console.log(`ring of 3: ${ingestPods.length} ingest pods wrote ${written} rows in ${requests} requests (${ingestRestarts} ingest restarts)`);
    await downLeavesNothing(release);
  }, 1_000_000);

  it('a workload that cannot start: named with its events, the release and the namespace it created removed', async () => {
    const release = newRelease('broken');
    const up = release.cli(['up', 'local', 'single', 'no_secrets', 'root', '--runtime', 'helm', '--namespace', release.ns, '-p', kube!.KUBERNETES_PROPERTIES_DIR!,
      '--values', RIG_VALUES, '--values', valuesFile('metrics: {enabled: false}\nimages: {nats: {repository: smartmeter-rig/no-such-image, tag: "1"}}\n'), '--timeout', '40s']);
    expect(up.status).toBe(1);
    expect(up.stderr).toMatch(/^nats is not ready: failed: (ErrImagePull|ImagePullBackOff)/m);
    expect(up.stderr).toMatch(/^--- last log lines of pod meters-nats-0 ---$/m);
    expect(up.stderr).toMatch(/^--- events of pod meters-nats-0 ---$/m);
    expect(up.stderr).toMatch(/Warning Failed: Failed to pull image "smartmeter-rig\/no-such-image:1"/);
    expect(up.stderr.trim().split('\n').at(-1)).toMatch(/^smartmeter: helm upgrade --install meters failed: .*; not ready: nats \(failed: /);
    await expectGone(release.ns);
    expect(release.cli(['status']).stderr).toMatch(/no stack "meters" is recorded in /);
  }, 300_000);
});
