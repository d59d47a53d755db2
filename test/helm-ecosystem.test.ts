// The chart's Kubernetes ecosystem (issue 14): for single/cluster × secrets/no_secrets × features
// off/on, `helm lint --strict` clean, every built-in object valid against the Kubernetes 1.29 to
// 1.37 schemas (kubernetes-validate, strict), only current API versions, and kube-score clean
// (kube-linter is not served by the Go module proxy; kube-score's exceptions: ci/kube-score.yaml);
// the security, availability and discovery invariants read from the rendered objects; and, on the
// rig's API server with the Prometheus Operator's, Istio's and KEDA's CRDs, `helm install
// --dry-run=server` and a server-side dry-run apply of every object, CRD objects included.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { CHART_DIR } from '../src/runtime/helm.js';
import { runCli } from './helpers/cli.js';
import { rigHelm, secretFiles } from './helpers/helm.js';
import { rigService } from './helpers/rig.js';

const rig = rigService('helm');
const kube = rigService('kubernetes');
/** The design's own command (seed summary): every service it runs must have a place in the values. */
const DESIGN_TARGETS = ['root_metrics', 'inject', 'streaming_metrics', 'prediction_metrics'];
const TARGETS = [...DESIGN_TARGETS, 'cassandra_inject_metrics'];
const FEATURES = join(CHART_DIR, 'ci', 'all-features-values.yaml');
const KUBE_SCORE_EXCEPTIONS = join(CHART_DIR, 'ci', 'kube-score.yaml');
const KUBE_VERSIONS = ['1.29.0', '1.30.0', '1.31.0', '1.32.0', '1.33.0', '1.34.0', '1.35.0', '1.36.0', '1.37.0'];
/** What the API server would serve with the Operator, Istio and KEDA installed (for `auto` values). */
const CRD_APIS = ['monitoring.coreos.com/v1', 'keda.sh/v1alpha1', 'keda.sh/v1alpha1/ScaledObject', 'security.istio.io/v1', 'networking.istio.io/v1'];
/** Every apiVersion the chart may use: GA in 1.29 and still served in 1.37 (none deprecated). */
const CURRENT_APIS = new Set(['v1', 'apps/v1', 'batch/v1', 'policy/v1', 'autoscaling/v2', 'networking.k8s.io/v1',
  'monitoring.coreos.com/v1', 'keda.sh/v1alpha1', 'security.istio.io/v1', 'networking.istio.io/v1']);

interface Container {
  name: string;
  ports?: { name: string; containerPort: number }[];
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  env?: { name: string; value?: string }[];
  args?: string[];
}
interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: Record<string, unknown>;
  containers: Container[];
  initContainers?: Container[];
  affinity?: { podAntiAffinity?: Record<string, unknown> };
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown> & { template?: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec }; replicas?: number };
  data?: Record<string, string>;
  automountServiceAccountToken?: boolean;
}

const helm = (args: string[]) => rigHelm(rig!, args);

/** `combine --format helm` of the targets, then the chart's values arguments for helm. */
function valuesArgs(mode: string, secretMode: string, features: boolean): { args: string[]; combineStderr: string } {
  const file = join(mkdtempSync(join(tmpdir(), 'smartmeter-eco-')), 'values.yaml');
  const combine = runCli(['combine', 'local', mode, secretMode, ...TARGETS, '--format', 'helm', '-o', file]);
  expect(combine.status, combine.stderr).toBe(0);
  return { args: ['--values', file, ...(features ? ['--values', FEATURES] : []), ...(secretMode === 'secrets' ? secretFiles().setFiles : [])], combineStderr: combine.stderr };
}

function template(args: string[], apis: string[] = []): K8sObject[] {
  const r = helm(['template', 'sm', CHART_DIR, '--namespace', 'meters', '--kube-version', '1.37.0', ...apis.flatMap((a) => ['--api-versions', a]), ...args]);
  expect(r.status, r.stderr).toBe(0);
  return yaml.loadAll(r.stdout).filter(Boolean) as K8sObject[];
}

/**
 * kube-score's default checks over a manifest file: its critical and warning findings ("<check>
 * <kind>/<name>: <summary>") but those ci/kube-score.yaml accepts.
 */
function kubeScoreFindings(file: string): string[] {
  const { exceptions } = yaml.load(readFileSync(KUBE_SCORE_EXCEPTIONS, 'utf8')) as { exceptions: { check: string; objects?: string[]; reason: string }[] };
  const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`);
  const accepted = (check: string, name: string) => exceptions.some((e) => e.check === check && (!e.objects || e.objects.some((o) => glob(o).test(name))));
  const r = spawnSync(rig!.KUBE_SCORE!, ['score', '--output-format', 'json', file], { encoding: 'utf8' });
  expect(r.stdout, r.stderr).toMatch(/^\[/);
  const report = JSON.parse(r.stdout) as { object_name: string; type_meta: { kind: string }; object_meta: { name: string }; checks: { check: { id: string }; grade: number; skipped: boolean; comments: { summary: string }[] | null }[] }[];
  return report.flatMap((o) => o.checks
    .filter((c) => !c.skipped && c.grade < 10 && !accepted(c.check.id, o.object_meta.name))
    .map((c) => `${c.check.id} ${o.type_meta.kind}/${o.object_meta.name}: ${(c.comments ?? []).map((x) => x.summary).join('; ')}`));
}

const isBuiltIn = (o: K8sObject) => !o.apiVersion.includes('/') || !o.apiVersion.split('/')[0]!.includes('.') || o.apiVersion.split('/')[0]!.endsWith('.k8s.io');
const workloads = (objects: K8sObject[]) => objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind));
const component = (o: K8sObject) => o.metadata.labels?.['app.kubernetes.io/component'] ?? '';

describe.runIf(rig)('the chart\'s Kubernetes ecosystem, statically', () => {
  for (const mode of ['single', 'cluster']) {
    for (const secretMode of ['secrets', 'no_secrets']) {
      for (const features of [false, true]) {
        it(`${mode} ${secretMode}, features ${features ? 'on' : 'off'}: lint --strict, schemas 1.29–1.37, current APIs, kube-score clean`, () => {
          const { args } = valuesArgs(mode, secretMode, features);
          const lint = helm(['lint', '--strict', CHART_DIR, ...args]);
          expect(lint.status, lint.stdout + lint.stderr).toBe(0);
          expect(lint.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
          const objects = template(args, features ? CRD_APIS : []);
          const dir = mkdtempSync(join(tmpdir(), 'smartmeter-eco-render-'));
          const all = join(dir, 'all.yaml');
          const builtIn = join(dir, 'built-in.yaml');
          writeFileSync(all, objects.map((o) => yaml.dump(o)).join('---\n'));
          writeFileSync(builtIn, objects.filter(isBuiltIn).map((o) => yaml.dump(o)).join('---\n'));
          for (const version of KUBE_VERSIONS) {
            const check = spawnSync(rig!.KUBERNETES_VALIDATE!, ['--strict', '--quiet', '-k', version, builtIn], { encoding: 'utf8' });
            expect(check.status, `${version}: ${check.stdout}${check.stderr}`).toBe(0);
            expect(check.stdout + check.stderr).not.toMatch(/ERROR|WARN/);
          }
          expect([...new Set(objects.map((o) => o.apiVersion))].filter((a) => !CURRENT_APIS.has(a))).toEqual([]);
          if (features) expect(objects.filter((o) => !isBuiltIn(o)).map((o) => o.kind).sort()).toEqual(expect.arrayContaining(['DestinationRule', 'PeerAuthentication', 'PodMonitor', 'ScaledObject', 'ServiceMonitor']));
          expect(kubeScoreFindings(all)).toEqual([]);
        }, 120_000);
      }
    }
  }

  it('kube-score does find what is wrong, and the exceptions hold only where they are listed (the check above can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-eco-bad-'));
    const bad = join(dir, 'bad.yaml');
    // A Deployment named like an excepted one (sm-cassandra's user) and one that is not: only the second's user is reported.
    const deployment = (name: string) => `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}}\nspec:\n  replicas: 2\n  selector: {matchLabels: {a: ${name}}}\n  template:\n    metadata: {labels: {a: ${name}}}\n    spec: {containers: [{name: c, image: "i:1", securityContext: {privileged: true, runAsUser: 0}}]}\n`;
    writeFileSync(bad, `${deployment('sm-cassandra')}---\n${deployment('sm-ingest')}`);
    const findings = kubeScoreFindings(bad);
    expect(findings.filter((f) => f.startsWith('container-security-context-user-group-id')).map((f) => f.split(':')[0])).toEqual(['container-security-context-user-group-id Deployment/sm-ingest']);
    expect(findings.some((f) => f.startsWith('container-security-context-privileged Deployment/sm-cassandra'))).toBe(true);
    expect(findings.some((f) => f.startsWith('container-resources Deployment/sm-ingest'))).toBe(true);
  });

  it('hardened: every pod non-root with a numeric user, seccomp, its own token-less ServiceAccount; every container without privilege, capabilities dropped, with requests and limits', () => {
    const objects = template(valuesArgs('cluster', 'secrets', true).args, CRD_APIS);
    const accounts = new Map(objects.filter((o) => o.kind === 'ServiceAccount').map((o) => [o.metadata.name, o]));
    const readOnlyExceptions = new Set(['cassandra', 'spark-master', 'spark-worker', 'hadoop', 'app-streaming', 'app-prediction-trainer', 'app-prediction-oracle']);
    expect(workloads(objects).length).toBeGreaterThan(15);
    for (const w of workloads(objects)) {
      const pod = w.spec!.template!.spec;
      const where = `${w.kind}/${w.metadata.name}`;
      expect(pod.securityContext, where).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(Number.isInteger(pod.securityContext!.runAsUser) && (pod.securityContext!.runAsUser as number) > 0, where).toBe(true);
      expect(pod.automountServiceAccountToken, where).toBe(false);
      expect(accounts.get(pod.serviceAccountName!)?.automountServiceAccountToken, `${where}'s ServiceAccount`).toBe(false);
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const at = `${where} ${c.name}`;
        expect(c.securityContext, at).toMatchObject({ allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } });
        expect(c.securityContext!.readOnlyRootFilesystem, at).toBe(!readOnlyExceptions.has(component(w)));
        expect(c.resources?.requests?.cpu && c.resources.requests.memory && c.resources.limits?.cpu && c.resources.limits.memory, at).toBeTruthy();
        // A server (a container with ports) of a long-running workload is probed.
        if (w.kind !== 'Job' && c.ports?.length) {
          expect(c.readinessProbe, `${at} readiness`).toBeDefined();
          expect(c.livenessProbe, `${at} liveness`).toBeDefined();
        }
      }
    }
    // Availability: NATS, Cassandra, ingest and the Spark workers have PodDisruptionBudgets; with
    // antiAffinity hard, NATS and Cassandra replicas never share a node.
    const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.metadata.name).sort();
    expect(pdbs).toEqual(['sm-cassandra', 'sm-ingest', 'sm-nats', 'sm-spark-worker']);
    for (const name of ['sm-nats', 'sm-cassandra']) {
      const set = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === name)!;
      expect(Object.keys(set.spec!.template!.spec.affinity!.podAntiAffinity!)).toEqual(['requiredDuringSchedulingIgnoredDuringExecution']);
    }
    // ingest finishes its writes on SIGTERM: it gets the time for it.
    const ingest = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'sm-ingest')!;
    expect((ingest.spec!.template!.spec as unknown as { terminationGracePeriodSeconds: number }).terminationGracePeriodSeconds).toBe(60);
  });

  it('the design\'s own command: combine --format helm leaves nothing out; the Spark apps, Spark, Hadoop and the NATS exporter are deployed, talking to the release\'s Services', () => {
    const { args, combineStderr } = valuesArgs('single', 'no_secrets', false);
    const design = runCli(['combine', 'local', 'single', 'secrets', ...DESIGN_TARGETS, '--format', 'helm', '-o', join(mkdtempSync(join(tmpdir(), 'smartmeter-eco-')), 'v.yaml')]);
    expect(design.status, design.stderr).toBe(0);
    expect(design.stderr + combineStderr).not.toMatch(/left out/);
    // The two images of the old platform that need root are named, with the value that would allow it.
    expect(design.stderr.split('\n').filter((l) => l.includes('runs only as root'))).toEqual([
      'smartmeter: warning: graphiteapp/graphite-statsd runs only as root, and the chart runs every pod non-root: use an unprivileged image, or allow root with metrics.graphite.podSecurityContext (the chart\'s README)',
      'smartmeter: warning: sequenceiq/hadoop-docker runs only as root, and the chart runs every pod non-root: use an unprivileged image, or allow root with hadoop.podSecurityContext (the chart\'s README)',
    ]);
    const objects = template(args);
    const deployments = objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name);
    expect(deployments).toEqual(expect.arrayContaining(['sm-app-streaming', 'sm-app-prediction-trainer', 'sm-app-prediction-oracle', 'sm-spark-master', 'sm-prometheus']));
    // The NATS exporter runs beside each server.
    const nats = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'sm-nats')!.spec!.template!.spec.containers;
    expect(nats.find((c) => c.name === 'exporter')!.args).toEqual(['-varz', '-connz', '-routez', '-subz', '-port=7777', 'http://127.0.0.1:8222']);
    expect(objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'sm-hadoop')).toBeDefined();
    const oracle = objects.find((o) => o.metadata.name === 'sm-app-prediction-oracle' && o.kind === 'Deployment')!.spec!.template!.spec.containers[0]!;
    const env = Object.fromEntries(oracle.env!.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ NATS_NAME: 'sm-nats', HDFS_URL: 'hdfs://sm-hadoop:9000', CASSANDRA_URL: 'sm-cassandra', DEPENDS_ON: 'sm-app-prediction-trainer' });
    // Credentials come from the release's Secret, as for every client.
    expect(oracle.env!.map((e) => e.name)).toEqual(expect.arrayContaining(['NATS_USERNAME', 'NATS_PASSWORD']));
    expect(oracle.args).toContain('com.logimethods.nats.connector.spark.app.SparkPredictionOracle');
  });

  it('Prometheus: monitors only when the API serves them (auto), on every metrics Service\'s port "metrics"; the chart\'s own Prometheus scrapes the same targets; Grafana follows it', () => {
    const { args } = valuesArgs('single', 'no_secrets', true);
    expect(template(args).filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/'))).toEqual([]);
    const objects = template(args, CRD_APIS);
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor')!;
    expect(monitor.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
    const metricsServices = objects.filter((o) => o.kind === 'Service' && o.metadata.labels?.['smartmeter.io/metrics'] === 'true');
    const scraped = metricsServices.map(component).sort();
    expect(scraped).toEqual(['cassandra-stats', 'ingest', 'inject', 'nats', 'telegraf-max-voltage', 'telegraf-prediction', 'telegraf-temperature']);
    // Each has a port "metrics" (NATS: "exporter" too), served by the container ports of the pods it selects.
    const endpoints = (monitor.spec!.endpoints as { port: string }[]).map((e) => e.port);
    expect(endpoints).toEqual(['metrics', 'exporter']);
    for (const service of metricsServices) {
      const served = (service.spec!.ports as { name: string }[]).map((p) => p.name).filter((p) => endpoints.includes(p));
      expect(served.length, service.metadata.name).toBeGreaterThan(0);
      const selector = service.spec!.selector as Record<string, string>;
      const pods = workloads(objects).filter((w) => Object.entries(selector).every(([k, v]) => w.spec!.template!.metadata.labels[k] === v));
      const containerPorts = pods.flatMap((w) => w.spec!.template!.spec.containers.flatMap((c) => c.ports ?? [])).map((p) => p.name);
      for (const port of served) expect(containerPorts, `${service.metadata.name} ${port}`).toContain(port);
    }
    expect(objects.find((o) => o.kind === 'PodMonitor')!.spec!.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'smart-meter', 'app.kubernetes.io/instance': 'sm', 'app.kubernetes.io/component': 'inject' } });
    const config = yaml.load(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'sm-prometheus')!.data!['prometheus.yml']!) as { scrape_configs: { job_name: string; dns_sd_configs?: { names: string[] }[] }[] };
    const names = [...new Set(config.scrape_configs.flatMap((j) => j.dns_sd_configs ?? []).flatMap((d) => d.names).map((n) => n.replace(/\.meters\.svc$/, '')))].sort();
    expect(names).toEqual(metricsServices.map((s) => s.metadata.name).sort());
    expect(config.scrape_configs.map((j) => j.job_name)).toEqual(expect.arrayContaining(['nats', 'nats-exporter']));
    const grafana = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'sm-grafana')!.spec!.template!.spec.containers[0]!;
    expect(grafana.env!.find((e) => e.name === 'SMARTMETER_PROMETHEUS_URL')!.value).toBe('http://sm-prometheus:9090');
  });

  it('autoscaling: KEDA on the JetStream consumer when KEDA is served, else a CPU HorizontalPodAutoscaler; the Deployment leaves its replicas to the scaler; KEDA without JetStream is refused', () => {
    const { args } = valuesArgs('single', 'no_secrets', true);
    const withKeda = template(args, CRD_APIS);
    const scaled = withKeda.find((o) => o.kind === 'ScaledObject')!;
    expect(scaled.spec).toMatchObject({ scaleTargetRef: { name: 'sm-ingest' }, minReplicaCount: 1, maxReplicaCount: 5 });
    expect((scaled.spec!.triggers as { type: string; metadata: Record<string, string> }[])[0]).toMatchObject({
      type: 'nats-jetstream', metadata: { natsServerMonitoringEndpoint: 'sm-nats.meters.svc:8222', stream: 'SMARTMETER', consumer: 'ingest', lagThreshold: '1000' },
    });
    expect(withKeda.find((o) => o.kind === 'HorizontalPodAutoscaler')).toBeUndefined();
    const withoutKeda = template(args);
    expect(withoutKeda.find((o) => o.kind === 'HorizontalPodAutoscaler')!.spec).toMatchObject({ scaleTargetRef: { kind: 'Deployment', name: 'sm-ingest' }, minReplicas: 1, maxReplicas: 5 });
    expect(withoutKeda.find((o) => o.kind === 'Deployment' && o.metadata.name === 'sm-ingest')!.spec!.replicas).toBeUndefined();
    const refused = helm(['template', 'sm', CHART_DIR, ...args, '--set', 'ingest.jetstream=false', '--set', 'ingest.autoscaling.mode=keda']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/ingest\.autoscaling\.mode keda scales on a JetStream consumer: set ingest\.jetstream true/);
  });

  it('Ingress for the consoles (class nginx, hosts, TLS; Grafana and Prometheus under a path); Istio: sidecars in every pod, STRICT mTLS, ISTIO_MUTUAL for every Service, every Service port with its protocol', () => {
    const objects = template(valuesArgs('cluster', 'no_secrets', true).args, CRD_APIS);
    const ingresses = objects.filter((o) => o.kind === 'Ingress');
    expect(ingresses.map((i) => [i.metadata.name, (i.spec!.rules as { host: string }[])[0]!.host, i.spec!.ingressClassName, (i.spec!.tls as unknown[] | undefined)?.length ?? 0])).toEqual([
      ['sm-grafana', 'grafana.meters.example', 'nginx', 1], ['sm-graphite', 'graphite.meters.example', 'nginx', 0], ['sm-prometheus', 'prometheus.meters.example', 'nginx', 1],
    ]);
    // A path other than /: Grafana and Prometheus serve under it, their probes too.
    const prefixed = template([...valuesArgs('single', 'no_secrets', true).args, '--set', 'ingress.grafana.path=/grafana', '--set', 'ingress.prometheus.path=/prom/'], CRD_APIS);
    const grafana = prefixed.find((o) => o.kind === 'Deployment' && o.metadata.name === 'sm-grafana')!.spec!.template!.spec.containers[0]! as Container & { readinessProbe: { httpGet: { path: string } } };
    expect(Object.fromEntries(grafana.env!.map((e) => [e.name, e.value]))).toMatchObject({ GF_SERVER_ROOT_URL: '%(protocol)s://%(domain)s:%(http_port)s/grafana/', GF_SERVER_SERVE_FROM_SUB_PATH: 'true', SMARTMETER_PROMETHEUS_URL: 'http://sm-prometheus:9090/prom' });
    expect(grafana.readinessProbe.httpGet.path).toBe('/grafana/api/health');
    const prometheus = prefixed.find((o) => o.kind === 'Deployment' && o.metadata.name === 'sm-prometheus')!.spec!.template!.spec.containers[0]! as Container & { readinessProbe: { httpGet: { path: string } } };
    expect(prometheus.args).toContain('--web.external-url=https://prometheus.meters.example/prom/');
    expect(prometheus.readinessProbe.httpGet.path).toBe('/prom/-/ready');
    for (const w of workloads(objects)) {
      expect(w.spec!.template!.metadata.labels['sidecar.istio.io/inject'], w.metadata.name).toBe('true');
      // Native sidecars: a Job's pod ends when its container does.
      expect(w.spec!.template!.metadata.annotations?.['sidecar.istio.io/nativeSidecar'], w.metadata.name).toBe('true');
    }
    // STRICT for the release's pods, but on the ports callers outside the mesh use (consoles, metrics, NATS monitoring).
    const peer = objects.find((o) => o.kind === 'PeerAuthentication')!.spec as { selector: unknown; mtls: unknown; portLevelMtls: Record<string, { mode: string }> };
    expect(peer.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'smart-meter', 'app.kubernetes.io/instance': 'sm' } });
    expect(peer.mtls).toEqual({ mode: 'STRICT' });
    expect(Object.keys(peer.portLevelMtls).map(Number).sort((a, b) => a - b)).toEqual([80, 3000, 7777, 8222, 9090, 9273, 9464, 9465]);
    for (const p of Object.values(peer.portLevelMtls)) expect(p).toEqual({ mode: 'PERMISSIVE' });
    const meshed = template([...valuesArgs('cluster', 'no_secrets', true).args, '--set', 'istio.meshedCallers=true'], CRD_APIS);
    expect(meshed.find((o) => o.kind === 'PeerAuthentication')!.spec).not.toHaveProperty('portLevelMtls');
    const services = objects.filter((o) => o.kind === 'Service');
    const rules = objects.filter((o) => o.kind === 'DestinationRule');
    expect(rules.map((r) => r.spec!.host).sort()).toEqual(services.map((s) => `${s.metadata.name}.meters.svc.cluster.local`).sort());
    for (const r of rules) expect(r.spec!.trafficPolicy).toEqual({ tls: { mode: 'ISTIO_MUTUAL' } });
    for (const s of services) for (const p of s.spec!.ports as { name: string; appProtocol?: string }[]) expect(p.appProtocol, `${s.metadata.name} ${p.name}`).toMatch(/^(tcp|http)$/);
  });

  it('NetworkPolicies: every pod of the release is covered; each server admits the pods labelled as its clients, and those labels are on the pods that use it', () => {
    const objects = template(valuesArgs('cluster', 'secrets', true).args, CRD_APIS);
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    const deny = policies.find((p) => p.metadata.name === 'sm-default-deny')!;
    expect(deny.spec).toEqual({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'smart-meter', 'app.kubernetes.io/instance': 'sm' } }, policyTypes: ['Ingress'] });
    const labelsOf = (name: string) => workloads(objects).find((w) => component(w) === name)!.spec!.template!.metadata.labels;
    expect(labelsOf('ingest')).toMatchObject({ 'smartmeter.io/nats-client': 'true', 'smartmeter.io/cassandra-client': 'true', 'smartmeter.io/graphite-client': 'true' });
    expect(labelsOf('inject')).toMatchObject({ 'smartmeter.io/nats-client': 'true' });
    expect(labelsOf('cassandra-init')).toMatchObject({ 'smartmeter.io/cassandra-client': 'true' });
    expect(labelsOf('app-streaming')).toMatchObject({ 'smartmeter.io/nats-client': 'true', 'smartmeter.io/cassandra-client': 'true', 'smartmeter.io/spark-client': 'true' });
    // The executors on the Spark workers do the apps' reading and writing: the workers are clients of the same servers.
    expect(labelsOf('spark-worker')).toMatchObject({ 'smartmeter.io/spark-server': 'true', 'smartmeter.io/nats-client': 'true', 'smartmeter.io/cassandra-client': 'true', 'smartmeter.io/hadoop-client': 'true' });
    // Every named port a policy opens exists on a container of a pod the policy selects.
    for (const policy of policies.filter((p) => p.spec!.ingress)) {
      const selector = (policy.spec!.podSelector as { matchLabels: Record<string, string> }).matchLabels;
      const pods = workloads(objects).filter((w) => Object.entries(selector).every(([k, v]) => w.spec!.template!.metadata.labels[k] === v));
      expect(pods.length, policy.metadata.name).toBeGreaterThan(0);
      const ports = new Set(pods.flatMap((w) => w.spec!.template!.spec.containers.flatMap((c) => c.ports ?? [])).map((p) => p.name));
      for (const rule of policy.spec!.ingress as { ports?: { port: string }[] }[]) {
        for (const p of rule.ports ?? []) expect(ports.has(p.port), `${policy.metadata.name} port ${p.port}`).toBe(true);
      }
    }
  });
});

describe.runIf(rig && kube)('the chart\'s ecosystem on the rig\'s API server (with the Operator\'s, Istio\'s and KEDA\'s CRDs)', () => {
  const env = () => ({
    ...process.env,
    PATH: `${dirname(rig!.HELM!)}:${dirname(kube!.KUBECTL!)}:${process.env.PATH}`,
    KUBECONFIG: kube!.KUBECONFIG!,
    HELM_CACHE_HOME: rig!.HELM_CACHE_HOME!, HELM_CONFIG_HOME: rig!.HELM_CONFIG_HOME!, HELM_DATA_HOME: rig!.HELM_DATA_HOME!,
  });
  const run = (command: string, args: string[], input?: string) => {
    const r = spawnSync(command, args, { encoding: 'utf8', input, env: env() });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('the CRDs are served', () => {
    const crds = (kube!.KUBERNETES_CRDS ?? '').split(',');
    expect(crds).toEqual(expect.arrayContaining(['servicemonitors.monitoring.coreos.com', 'podmonitors.monitoring.coreos.com', 'peerauthentications.security.istio.io', 'destinationrules.networking.istio.io', 'scaledobjects.keda.sh']));
  });

  for (const mode of ['single', 'cluster']) {
    for (const secretMode of ['secrets', 'no_secrets']) {
      it(`${mode} ${secretMode}, every feature on: helm install --dry-run=server, and the server validates every object (CRD objects against their schemas)`, () => {
        const ns = `sm-eco-${mode}-${secretMode.replace('_', '')}-${process.pid}`;
        const { args } = valuesArgs(mode, secretMode, true);
        const created = run(kube!.KUBECTL!, ['create', 'namespace', ns]);
        expect(created.status, created.stderr).toBe(0);
        try {
          const dry = run(rig!.HELM!, ['install', '--dry-run=server', 'sm', CHART_DIR, '--namespace', ns, ...args]);
          expect(dry.status, dry.stderr).toBe(0);
          expect(dry.stdout).toMatch(/^STATUS: pending-install$/m);
          // auto features found the CRDs on the server.
          const manifest = dry.stdout.slice(dry.stdout.indexOf('MANIFEST:') + 'MANIFEST:'.length, dry.stdout.lastIndexOf('NOTES:'));
          expect(manifest).toMatch(/^kind: ServiceMonitor$/m);
          expect(manifest).toMatch(/^kind: ScaledObject$/m);
          // Helm's dry run validates nothing on the server; a server-side dry-run apply does, strictly.
          const apply = run(kube!.KUBECTL!, ['apply', '--dry-run=server', '--validate=strict', '--namespace', ns, '-f', '-'], manifest);
          expect(apply.status, apply.stderr).toBe(0);
          const lines = apply.stdout.trim().split('\n');
          expect(lines.length).toBeGreaterThan(60);
          for (const line of lines) expect(line).toMatch(/ (created|configured) \(server dry run\)$/);
          for (const kind of ['servicemonitor', 'podmonitor', 'scaledobject', 'peerauthentication', 'destinationrule', 'networkpolicy', 'ingress', 'poddisruptionbudget']) {
            expect(lines.some((l) => l.startsWith(`${kind}.`)), kind).toBe(true);
          }
        } finally {
          run(kube!.KUBECTL!, ['delete', 'namespace', ns, '--wait=false']);
        }
      }, 180_000);
    }
  }

  it('the server does refuse a CRD object that breaks its schema (the check above can fail)', () => {
    const ns = `sm-eco-bad-${process.pid}`;
    run(kube!.KUBECTL!, ['create', 'namespace', ns]);
    try {
      const bad = 'apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: bad}\nspec:\n  scaleTargetRef: {name: x}\n  minReplicaCount: "one"\n  triggers: []\n';
      const apply = run(kube!.KUBECTL!, ['apply', '--dry-run=server', '--validate=strict', '--namespace', ns, '-f', '-'], bad);
      expect(apply.status).not.toBe(0);
      expect(apply.stderr).toMatch(/minReplicaCount/);
    } finally {
      run(kube!.KUBECTL!, ['delete', 'namespace', ns, '--wait=false']);
    }
  });
});
