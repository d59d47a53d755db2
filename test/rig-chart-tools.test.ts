// The rig's tools for checking the Helm chart against what clusters run: kube-score (helm
// service), the CRDs of Prometheus Operator, Istio and KEDA on the rig's API server, and claims
// of the default StorageClass that a non-root pod can write (kubernetes service).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/net.js';
import { rigKubectl, rigKubectlOk } from './helpers/kube.js';
import { rigService } from './helpers/rig.js';

const helmRig = rigService('helm');
const kube = rigService('kubernetes');
const docker = kube ? rigService('docker') : undefined;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function exec(command: string, args: string[], options: { input?: string; env?: Record<string, string> } = {}): Result {
  const r = spawnSync(command, args, { encoding: 'utf8', input: options.input, env: { ...process.env, ...options.env } });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const kubectl = (args: string[], input?: string): Result => rigKubectl(kube!, args, input);
const kubectlOk = (args: string[], input?: string): string => rigKubectlOk(kube!, args, input);

describe.runIf(helmRig)('the rig kube-score', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartmeter-kube-score-'));
  /** kube-score's default checks over one file: its JSON report and exit status (1 on a critical finding). */
  const score = (name: string, manifest: string) => {
    const file = join(dir, name);
    writeFileSync(file, manifest);
    return exec(helmRig!.KUBE_SCORE!, ['score', '--output-format', 'json', file]);
  };
  /** The ids of the checks graded critical (grade 1). */
  const critical = (stdout: string) => (JSON.parse(stdout) as { checks: { check: { id: string }; grade: number; skipped: boolean }[] }[])
    .flatMap((o) => o.checks.filter((c) => c.grade === 1 && !c.skipped).map((c) => c.check.id));
  const deployment = (name: string, podSpec: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
${podSpec.replace(/^/gm, '      ')}
`;

  it('is the pinned version', () => {
    const r = exec(helmRig!.KUBE_SCORE!, ['version']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^kube-score version: v1\.20\.0/);
  });

  it('grades a Deployment that runs as root without resources or a read-only root critical, and exits non-zero', () => {
    const r = score('careless.yaml', deployment('careless', 'containers:\n- {name: app, image: "example.org/app:latest"}'));
    expect(r.status).not.toBe(0);
    expect(critical(r.stdout)).toEqual(expect.arrayContaining(['container-resources', 'container-security-context-user-group-id', 'container-security-context-readonlyrootfilesystem', 'container-image-tag']));
  });

  it('passes a hardened Deployment (high numeric user, resources and ephemeral storage, read-only root, probes that differ), exit 0', () => {
    const r = score('careful.yaml', `${deployment('careful', `securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001}
containers:
- name: app
  image: example.org/app:1.2.3
  imagePullPolicy: Always
  ports: [{name: web, containerPort: 8080}]
  readinessProbe: {httpGet: {path: /ready, port: web}}
  livenessProbe: {tcpSocket: {port: web}}
  securityContext: {allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
  resources: {requests: {cpu: 100m, memory: 64Mi, ephemeral-storage: 64Mi}, limits: {cpu: 500m, memory: 128Mi, ephemeral-storage: 1Gi}}`)}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: careful}
spec: {podSelector: {matchLabels: {app: careful}}, policyTypes: [Ingress, Egress]}
`);
    expect(critical(r.stdout)).toEqual([]);
    expect(r.status, r.stdout).toBe(0);
  });
});

describe.runIf(kube)('the rig Kubernetes: CRDs of Prometheus Operator, Istio and KEDA', () => {
  const ns = `rig-crds-${process.pid}`;
  afterAll(() => {
    if (kube) kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']);
  });
  const names = () => kube!.KUBERNETES_CRDS!.split(',');
  /** `kubectl apply --dry-run=server` of one object in the test's namespace. */
  const dryRun = (manifest: string) => kubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], manifest);

  it('lists in KUBERNETES_CRDS the ones the chart may render, and each is Established on the API server', () => {
    expect(names()).toEqual(expect.arrayContaining([
      'servicemonitors.monitoring.coreos.com', 'podmonitors.monitoring.coreos.com',
      'peerauthentications.security.istio.io', 'destinationrules.networking.istio.io',
      'scaledobjects.keda.sh', 'triggerauthentications.keda.sh',
    ]));
    // Names and Established status only: the definitions themselves weigh megabytes.
    const lines = kubectlOk(['get', 'customresourcedefinitions', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Established")].status}{"\\n"}{end}']);
    const established = new Set(lines.split('\n').filter((line) => line.endsWith(' True')).map((line) => line.split(' ')[0]));
    expect(names().filter((name) => !established.has(name))).toEqual([]);
    // The kinds and versions the chart would use are served.
    const resources = kubectlOk(['api-resources', '-o', 'name', '--api-group=monitoring.coreos.com']) + kubectlOk(['api-resources', '-o', 'name', '--api-group=keda.sh']);
    expect(resources).toMatch(/^servicemonitors\.monitoring\.coreos\.com$/m);
    expect(resources).toMatch(/^scaledobjects\.keda\.sh$/m);
    const versions = kubectlOk(['api-versions']);
    for (const v of ['monitoring.coreos.com/v1', 'security.istio.io/v1', 'networking.istio.io/v1', 'keda.sh/v1alpha1']) expect(versions).toContain(`${v}\n`);
  });

  it('validates custom resources by their schemas: a ServiceMonitor, a PeerAuthentication and a ScaledObject of a wrong shape are refused, the right ones accepted (dry run)', () => {
    kubectlOk(['create', 'namespace', ns]);
    const serviceMonitor = (endpoints: string) => `apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: nats}
spec:
  selector: {matchLabels: {app: nats}}
  endpoints: ${endpoints}
`;
    const bad = dryRun(serviceMonitor('"x"'));
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/spec\.endpoints: Invalid value: "string"/);
    const good = dryRun(serviceMonitor('[{port: metrics, interval: 15s, path: /metrics}]'));
    expect(good.status, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/servicemonitor\.monitoring\.coreos\.com\/nats (created|configured) \(server dry run\)/);

    const peerAuthentication = (mode: string) => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: strict}
spec: {mtls: {mode: ${mode}}}
`;
    expect(dryRun(peerAuthentication('SOMETIMES')).stderr).toMatch(/spec\.mtls\.mode: Unsupported value: "SOMETIMES"/);
    expect(dryRun(peerAuthentication('STRICT')).status).toBe(0);

    const scaledObject = (triggers: string) => `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: ingest}
spec:
  scaleTargetRef: {name: ingest}
${triggers}`;
    expect(dryRun(scaledObject('')).stderr).toMatch(/spec\.triggers: Required value/);
    const trigger = '  triggers: [{type: cpu, metricType: Utilization, metadata: {value: "80"}}]\n';
    const accepted = dryRun(scaledObject(trigger));
    expect(accepted.status, accepted.stderr).toBe(0);
  });
});

describe.runIf(kube && docker)('the rig Kubernetes: claims of the default StorageClass', () => {
  const ns = `rig-pvc-${process.pid}`;
  afterAll(() => {
    // Waits, so the claim's volume is deleted too (reclaimPolicy Delete).
    if (kube) kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--timeout=120s']);
  }, 130_000);

  it('are writable by a pod running as a non-root user', async () => {
    const defaultClass = kubectlOk(['get', 'storageclass', '-o', 'jsonpath={.items[?(@.metadata.annotations.storageclass\\.kubernetes\\.io/is-default-class=="true")].metadata.name}']).trim();
    expect(defaultClass).not.toBe('');
    kubectlOk(['apply', '-f', '-'], `apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: ${ns}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 16Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer, namespace: ${ns}}
spec:
  restartPolicy: Never
  securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001}
  containers:
  - name: writer
    image: ${docker!.DOCKER_BASE_IMAGE}
    imagePullPolicy: Never
    command: [sh, -c, 'id -u; echo written by $(id -u) > /data/proof && cat /data/proof && stat -c %a /data']
    securityContext: {allowPrivilegeEscalation: false}
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data}
`);
    const phase = await waitFor(async () => {
      const p = kubectl(['-n', ns, 'get', 'pod', 'writer', '-o', 'jsonpath={.status.phase}']).stdout.trim();
      return p === 'Succeeded' || p === 'Failed' ? p : undefined;
    }, 120_000, 'the writer pod to finish');
    const logs = kubectl(['-n', ns, 'logs', 'writer']).stdout;
    expect(phase, logs).toBe('Succeeded');
    expect(logs).toBe('10001\nwritten by 10001\n777\n');
    // A volume the provisioner made for this claim, of the default class.
    expect(kubectlOk(['-n', ns, 'get', 'pvc', 'data', '-o', 'jsonpath={.spec.storageClassName} {.status.phase}'])).toBe(`${defaultClass} Bound`);
  }, 180_000);
});
