// The project's Helm chart with values from `combine --format helm`: `helm lint --strict` clean
// and `helm template` output valid against the Kubernetes schemas (kubernetes-validate, offline)
// for single/cluster × secrets/no_secrets; what the cluster mode changes; the values schema; and
// `up --runtime helm` against the rig's cluster with public images (a failure kept to look at). The pods themselves run in kubernetes.test.ts.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { CHART_DIR, helmUpgradeInstall } from '../src/runtime/helm.js';
import { formatCommand } from '../src/runtime/exec.js';
import { runCli } from './helpers/cli.js';
import { rigHelm, secretFiles } from './helpers/helm.js';
import { freePort } from './helpers/net.js';
import { rigService } from './helpers/rig.js';

const rig = rigService('helm');
const kube = rigService('kubernetes');
const TARGETS = ['root_metrics', 'inject', 'cassandra_inject_metrics', 'streaming_metrics'];
/** The Kubernetes version the rendered objects are validated for. */
const KUBE_VERSION = '1.37.0';

const helm = (args: string[], input?: string) => rigHelm(rig!, args, input);

interface K8sObject {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

describe.runIf(rig)('the smart-meter Helm chart', () => {
  const render = (mode: string, secretMode: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-helm-'));
    const values = join(dir, 'values.yaml');
    const combine = runCli(['combine', 'local', mode, secretMode, ...TARGETS, '--format', 'helm', '-o', values]);
    expect(combine.status, combine.stderr).toBe(0);
    const secrets = secretMode === 'secrets' ? secretFiles().setFiles : [];
    const lint = helm(['lint', '--strict', CHART_DIR, '--values', values, ...secrets]);
    const template = helm(['template', 'sm', CHART_DIR, '--namespace', 'meters', '--kube-version', KUBE_VERSION, '--values', values, ...secrets]);
    return { values, lint, template, objects: () => yaml.loadAll(template.stdout).filter(Boolean) as K8sObject[] };
  };

  for (const mode of ['single', 'cluster']) {
    for (const secretMode of ['secrets', 'no_secrets']) {
      it(`${mode} ${secretMode}: lint --strict clean, template valid against the Kubernetes ${KUBE_VERSION} schemas`, () => {
        const { lint, template } = render(mode, secretMode);
        expect(lint.status, lint.stdout + lint.stderr).toBe(0);
        expect(lint.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
        expect(template.status, template.stderr).toBe(0);
        const check = spawnSync(rig!.KUBERNETES_VALIDATE!, ['--strict', '--quiet', '-k', KUBE_VERSION, '-'], { input: template.stdout, encoding: 'utf8' });
        expect(check.status, check.stdout + check.stderr).toBe(0);
        // --quiet prints errors only; and every object had a schema (none skipped as unknown).
        expect(check.stdout + check.stderr).not.toMatch(/ERROR|WARN/);
      });
    }
  }

  it('the validator does reject a bad object (the check above can fail)', () => {
    const bad = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: three\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: i}]}\n';
    const check = spawnSync(rig!.KUBERNETES_VALIDATE!, ['--strict', '--quiet', '-k', KUBE_VERSION, '-'], { input: bad, encoding: 'utf8' });
    expect(check.status).toBe(1);
    expect(check.stdout + check.stderr).toMatch(/spec\.replicas: 'three' is not of type 'integer'/);
  });

  it('cluster mode: 3 NATS with routes, 3 Cassandra seeded by the first, RF 3 by the init Job, one slot per inject pod', () => {
    const objects = render('cluster', 'secrets').objects();
    const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name)!;
    const nats = find('StatefulSet', 'sm-nats').spec as { replicas: number; template: { spec: { containers: { args: string[]; env: { name: string; value?: string }[] }[] } } };
    expect(nats.replicas).toBe(3);
    // Routes without credentials: the start script adds them inside its 0600 config file.
    expect(nats.template.spec.containers[0]!.env.find((e) => e.name === 'NATS_ROUTES')?.value).toBe([0, 1, 2].map((i) => `sm-nats-${i}.sm-nats-headless:6222`).join(','));
    expect(nats.template.spec.containers[0]!.args.join(' ')).not.toMatch(/PASSWORD|USERNAME|--routes|--pass/);
    expect((find('StatefulSet', 'sm-cassandra').spec as { replicas: number }).replicas).toBe(3);
    const init = find('Job', 'sm-cassandra-init-1').spec as { template: { spec: { containers: { args: string[] }[] } } };
    expect(init.template.spec.containers[0]!.args).toEqual(expect.arrayContaining(['cassandra', 'init', '--mode=cluster', '--contact-points=sm-cassandra', '--scripts=/cql']));
    // The schema scripts travel in a ConfigMap, byte for byte.
    expect(Object.keys(find('ConfigMap', 'sm-cql').data!)).toEqual(['001-smartmeter-tables.cql']);
    const inject = find('Job', 'sm-inject-1').spec as { completionMode: string; parallelism: number; completions: number };
    expect(inject).toMatchObject({ completionMode: 'Indexed', parallelism: 2, completions: 2 });
    // Secrets mode: the credentials come from the files, through the chart's Secret.
    expect(find('Secret', 'sm-nats-auth').stringData).toMatchObject({ username: 'nats_username_secret-value', password: 'nats_password_secret-value' });
    expect(find('ConfigMap', 'sm-grafana-dashboards').data!['smartmeter-nats.json']).toContain('smartmeter.nats.$server');
    // Each NATS server has its own Telegraf beside it, named after its pod, writing to Graphite too.
    const natsContainers = nats.template.spec.containers as unknown as { name: string; args: string[]; env: { name: string; valueFrom?: unknown; value?: string }[] }[];
    const sidecar = natsContainers.find((c) => c.name === 'telegraf')!;
    expect(sidecar.args).toEqual(['--output-filter', 'graphite:prometheus_client', '--config', '/etc/telegraf/smartmeter/nats.conf']);
    expect(sidecar.env.find((e) => e.name === 'NATS_MONITOR_URL')!.value).toBe('http://127.0.0.1:8222');
    expect(sidecar.env.find((e) => e.name === 'NATS_INSTANCE')!.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    // Ingest replicas write Graphite paths of their own.
    const ingest = find('Deployment', 'sm-ingest').spec as { replicas: number; template: { spec: { containers: { args: string[] }[] } } };
    expect(ingest.replicas).toBe(3);
    expect(ingest.template.spec.containers[0]!.args).toContain('--graphite-prefix=smartmeter.ingest.$(POD_NAME)');
  });

  it('single mode: one of each, RF 1', () => {
    const objects = render('single', 'no_secrets').objects();
    expect((objects.find((o) => o.metadata.name === 'sm-nats' && o.kind === 'StatefulSet')!.spec as { replicas: number }).replicas).toBe(1);
    expect((objects.find((o) => o.metadata.name === 'sm-cassandra' && o.kind === 'StatefulSet')!.spec as { replicas: number }).replicas).toBe(1);
    const init = objects.find((o) => o.metadata.name === 'sm-cassandra-init-1')!.spec as { template: { spec: { containers: { args: string[] }[] } } };
    expect(init.template.spec.containers[0]!.args).toContain('--mode=single');
  });

  it('the values schema refuses a misspelt or out-of-range value, naming it', () => {
    const { values } = render('single', 'no_secrets');
    const typo = helm(['lint', '--strict', CHART_DIR, '--values', values, '--set', 'inject.paralelism=3']);
    expect(typo.status).toBe(1);
    expect(typo.stdout + typo.stderr).toMatch(/additional properties 'paralelism' not allowed/);
    const range = helm(['template', 'sm', CHART_DIR, '--values', values, '--set', 'inject.parallelism=13']);
    expect(range.status).toBe(1);
    expect(range.stderr).toMatch(/parallelism.*maximum/);
    // And no credentials, no chart: a release without a NATS password is refused.
    const bare = helm(['template', 'sm', CHART_DIR]);
    expect(bare.status).toBe(1);
    expect(bare.stderr).toMatch(/nats\.auth\.username is required/);
  });

  it('up --runtime helm: the command line, and one line when the cluster cannot be reached', async () => {
    const { dir } = secretFiles();
    const dry = runCli(['up', 'local', 'single', 'secrets', 'inject', 'cassandra_inject', '--runtime', 'helm', '--secrets-dir', dir, '--name', 'meters', '--dry-run'], { cwd: dirname(dir) });
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`--set-file nats.auth.password=${join(dir, 'nats_password_secret')}`);
    expect(dry.stdout).not.toContain('nats_password_secret-value');
    // no_secrets: the values hold the passwords; the dry run shows them masked.
    const plain = runCli(['up', 'local', 'single', 'no_secrets', 'inject', '--runtime', 'helm', '--dry-run']);
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout).not.toContain('xyz1234');
    expect(plain.stdout).toMatch(/^ {4}password: '\*\*\*'$/m);
    expect(dry.stdout).toMatch(/^helm upgrade --install meters .*templates\/helm\/smart-meter --namespace smartmeter --create-namespace --values .*values\.yaml .* --wait --timeout 300s$/m);

    // A real helm, a kubeconfig naming a cluster where nothing listens.
    const home = mkdtempSync(join(tmpdir(), 'smartmeter-kube-'));
    mkdirSync(join(home, 'state'));
    const kubeconfig = join(home, 'config');
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${await freePort()}"}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: t}}]\n`);
    chmodSync(kubeconfig, 0o600);
    const up = runCli(['up', 'local', 'single', 'secrets', 'inject', 'cassandra_inject', '--runtime', 'helm', '--secrets-dir', dir, '--name', 'meters', '--state-dir', join(home, 'state'), '--timeout', '30s'], {
      env: { PATH: `${dirname(rig!.HELM!)}:${process.env.PATH}`, KUBECONFIG: kubeconfig, HELM_CACHE_HOME: rig!.HELM_CACHE_HOME!, HELM_CONFIG_HOME: rig!.HELM_CONFIG_HOME!, HELM_DATA_HOME: rig!.HELM_DATA_HOME! },
    });
    expect(up.status).toBe(1);
    expect(up.stderr).toMatch(/^smartmeter: Kubernetes cluster unreachable: The connection to the server 127\.0\.0\.1:\d+ was refused.*\n$/);
    expect(up.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('builds the helm command: generated values, then the user\'s (later wins), then the secret files; no --atomic (up reports, then rolls back)', () => {
    const line = formatCommand(helmUpgradeInstall({ release: 'r', namespace: 'n', chart: '/c', valuesFile: '/v.yaml', extraValues: ['/mine.yaml'], setFiles: { 'nats.auth.password': '/s/p' }, timeoutSeconds: 60 }));
    expect(line).toBe('helm upgrade --install r /c --namespace n --create-namespace --values /v.yaml --values /mine.yaml --set-file nats.auth.password=/s/p --wait --timeout 60s');
  });
});

describe('combine --format helm', () => {
  it('sets the smartmeter image from the properties even when no smartmeter service is a target (the schema Job runs it)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-helm-props-'));
    writeFileSync(join(dir, 'properties.yml'), 'docker-smartmeter-repository: registry.example/sm\ndocker-smartmeter-tag: "7.7"\n');
    const r = runCli(['combine', '-p', dir, 'local', 'single', 'no_secrets', 'cassandra', '--format', 'helm', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { images: Record<string, unknown> }).images.smartmeter).toEqual({ repository: 'registry.example/sm', tag: '7.7' });
  });
});

describe('helm status from kubectl pods', () => {
  it('reads each component: ready, completed, starting, crash-looping', async () => {
    const { componentStatuses } = await import('../src/runtime/helm.js');
    const pod = (component: string, phase: string, ready: boolean, waiting?: string) => ({
      metadata: { labels: { 'app.kubernetes.io/component': component } },
      status: { phase, containerStatuses: [{ ready, restartCount: 0, state: waiting ? { waiting: { reason: waiting } } : {} }] },
    });
    const statuses = componentStatuses({ items: [pod('nats', 'Running', true), pod('nats', 'Running', true), pod('inject', 'Succeeded', false), pod('ingest', 'Running', false, 'CrashLoopBackOff'), pod('cassandra', 'Pending', false)] });
    expect(statuses.map(({ service, phase, detail }) => `${service} ${phase} ${detail}`)).toEqual([
      'cassandra starting pending (0/1 ready, Pending)',
      'ingest failed failed: CrashLoopBackOff (0/1 ready)',
      'inject completed done',
      'nats healthy ready (2/2)',
    ]);
    // Replicas: pods ready or done, of the component's pods.
    expect(statuses.map(({ service, replicas }) => `${service} ${replicas.ready}/${replicas.desired}`)).toEqual(['cassandra 0/1', 'ingest 0/1', 'inject 1/1', 'nats 2/2']);
  });
  it('reads workloads too: one without pods is pending; a Job fails by its own condition, not by a crashing pod; an evicted pod a ReplicaSet replaced is left out', async () => {
    const { componentStatuses } = await import('../src/runtime/helm.js');
    const owned = (component: string, kind: string, phase: string, ready: boolean, waiting?: string) => ({
      metadata: { name: `${component}-x`, labels: { 'app.kubernetes.io/component': component }, ownerReferences: [{ kind }] },
      status: { phase, containerStatuses: [{ ready, restartCount: waiting ? 2 : 0, state: waiting ? { waiting: { reason: waiting } } : {} }] },
    });
    const workload = (kind: string, component: string, conditions: { type: string; status: string }[] = []) => ({ kind, metadata: { labels: { 'app.kubernetes.io/component': component } }, status: { conditions } });
    const pods = { items: [owned('inject', 'Job', 'Running', false, 'CrashLoopBackOff'), owned('ingest', 'ReplicaSet', 'Failed', false), owned('ingest', 'ReplicaSet', 'Running', true), owned('cassandra-init', 'Job', 'Running', false, 'CrashLoopBackOff')] };
    const workloads = { items: [workload('Job', 'inject'), workload('Deployment', 'ingest'), workload('StatefulSet', 'nats'), workload('Job', 'cassandra-init', [{ type: 'Failed', status: 'True' }])] };
    expect(componentStatuses(pods, workloads).map(({ service, phase, detail }) => `${service} ${phase} ${detail}`)).toEqual([
      'cassandra-init failed failed: the Job used up its retries',
      'ingest healthy ready (1/1)',
      'inject starting pending (0/1 ready, 2 restarts, CrashLoopBackOff)',
      'nats starting pending (no pods yet)',
    ]);
  });
});

describe.runIf(rig && kube)('the chart on the rig\'s Kubernetes: objects validated and stored by the API server', () => {
  const env = () => ({
    PATH: `${dirname(rig!.HELM!)}:${dirname(kube!.KUBECTL!)}:${process.env.PATH}`,
    KUBECONFIG: kube!.KUBECONFIG!,
    HELM_CACHE_HOME: rig!.HELM_CACHE_HOME!, HELM_CONFIG_HOME: rig!.HELM_CONFIG_HOME!, HELM_DATA_HOME: rig!.HELM_DATA_HOME!,
  });
  const helmOn = (args: string[]) => {
    const r = spawnSync(rig!.HELM!, args, { encoding: 'utf8', env: { ...process.env, ...env() } });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const kubectl = (args: string[]) => {
    const r = spawnSync(kube!.KUBECTL!, args, { encoding: 'utf8', env: { ...process.env, KUBECONFIG: kube!.KUBECONFIG! } });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const valuesFor = (mode: string, secretMode: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-helm-'));
    const values = join(dir, 'values.yaml');
    const combine = runCli(['combine', 'local', mode, secretMode, ...TARGETS, '--format', 'helm', '-o', values]);
    expect(combine.status, combine.stderr).toBe(0);
    return ['--values', values, ...(secretMode === 'secrets' ? secretFiles().setFiles : [])];
  };

  for (const mode of ['single', 'cluster']) {
    for (const secretMode of ['secrets', 'no_secrets']) {
      it(`${mode} ${secretMode}: helm install --dry-run passes, and a real install is stored by the API server`, () => {
        const ns = `sm-${mode}-${secretMode.replace('_', '')}-${process.pid}`;
        const values = valuesFor(mode, secretMode);
        // Helm's dry run asks the server (version, lookups) but validates nothing there...
        const dry = helmOn(['install', '--dry-run=server', 'sm', CHART_DIR, '--namespace', ns, '--create-namespace', ...values]);
        expect(dry.status, dry.stderr).toBe(0);
        expect(dry.stdout).toMatch(/^STATUS: pending-install$/m);
        // ...so a real install has the server validate and store every object (without --wait and without
        // hooks: these values name public images, which no registry serves here; test/kubernetes.test.ts
        // runs the chart's pods on the rig's images).
        const install = helmOn(['install', 'sm', CHART_DIR, '--namespace', ns, '--create-namespace', '--no-hooks', ...values]);
        try {
          expect(install.status, install.stderr).toBe(0);
          const kinds = JSON.parse(kubectl(['get', 'statefulsets,deployments,services,configmaps,secrets', '--namespace', ns, '--selector', 'app.kubernetes.io/instance=sm', '--output', 'json']).stdout) as { items: { kind: string }[] };
          const count = (kind: string) => kinds.items.filter((i) => i.kind === kind).length;
          expect(count('StatefulSet')).toBe(3); // nats, cassandra, graphite
          expect(count('Deployment')).toBeGreaterThanOrEqual(3); // ingest, grafana, cassandra-stats, telegraf agents
          expect(count('Secret')).toBe(2); // nats-auth, grafana-admin
        } finally {
          expect(helmOn(['uninstall', 'sm', '--namespace', ns, '--no-hooks']).status).toBe(0);
        }
      });
    }
  }

  it('the server does refuse what is wrong (the installs above can fail)', () => {
    const ns = `sm-bad-${process.pid}`;
    const r = helmOn(['install', 'sm-bad', CHART_DIR, '--namespace', ns, '--create-namespace', '--no-hooks', ...valuesFor('single', 'no_secrets'), '--set', 'nats.auth.existingSecret=Not_A_Name']);
    // The values schema takes any string here; the API server refuses the reference.
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Invalid value: "Not_A_Name"/);
    helmOn(['uninstall', 'sm-bad', '--namespace', ns, '--no-hooks']);
  });

  it('smartmeter up --runtime helm installs for real; status, logs and down --volumes through helm and kubectl', () => {
    const ns = `meters-${process.pid}`;
    const state = mkdtempSync(join(tmpdir(), 'smartmeter-helm-state-'));
    const { dir } = secretFiles();
    const cli = (args: string[]) => runCli([...args, '--name', 'meters', '--state-dir', state], { env: env() });
    // The values name public images, which cannot be pulled here: the wait runs out; --keep-on-failure leaves the release to look at.
    const up = cli(['up', 'local', 'cluster', 'secrets', ...TARGETS, '--runtime', 'helm', '--namespace', ns, '--secrets-dir', dir, '--timeout', '10s', '--keep-on-failure']);
    expect(up.status).toBe(1);
    expect(up.stderr.trim().split('\n').at(-1)).toMatch(/^smartmeter: helm upgrade --install meters failed: /);
    // What the API server stored: the StatefulSets of cluster mode, and the Secret filled from the files.
    const sets = JSON.parse(kubectl(['get', 'statefulsets', '--namespace', ns, '--output', 'json']).stdout) as { items: { metadata: { name: string }; spec: { replicas: number } }[] };
    expect(Object.fromEntries(sets.items.map((i) => [i.metadata.name, i.spec.replicas]))).toEqual({ 'meters-cassandra': 3, 'meters-graphite': 1, 'meters-nats': 3 });
    const secret = JSON.parse(kubectl(['get', 'secret', 'meters-nats-auth', '--namespace', ns, '--output', 'json']).stdout) as { data: Record<string, string> };
    expect(Buffer.from(secret.data.password!, 'base64').toString()).toBe('nats_password_secret-value');
    const status = cli(['status', '--json']);
    expect(status.status).toBe(1); // not ready: no image to run
    expect(JSON.parse(status.stdout)).toMatchObject({ runtime: 'helm', name: 'meters', namespace: ns, ready: false });
    expect(cli(['status']).stdout).toMatch(new RegExp(`^meters \\(namespace ${ns}\\) revision 1: failed, deployed `, 'm'));
    const down = cli(['down', '--volumes']);
    expect(down.status, down.stderr).toBe(0);
    expect(helmOn(['list', '--namespace', ns, '--short']).stdout.trim()).toBe('');
    expect(kubectl(['get', 'statefulsets', '--namespace', ns, '--output', 'name']).stdout.trim()).toBe('');
    expect(cli(['status']).stderr).toMatch(/no stack "meters" is recorded in /);
  }, 300_000); // ~70 s on an idle machine; the reports of many pending components take longer on a busy one
});
