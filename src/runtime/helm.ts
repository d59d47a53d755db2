/**
 * Kubernetes through Helm: the project's chart (templates/helm/smart-meter) with values from
 * `combine --format helm`. The command lines are plain values; helm talks to the cluster.
 */
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import type { CommandLine } from './exec.js';
import type { ServiceStatus } from './runtime.js';

export const CHART_DIR = join(PACKAGE_ROOT, 'templates', 'helm', 'smart-meter');

export interface HelmInstall {
  release: string;
  namespace: string;
  chart: string;
  valuesFile: string;
  /** The user's own values files, layered over the generated ones (helm's order: later wins). */
  extraValues?: string[];
  /** value key → file whose content becomes the value (the secret files in secrets mode). */
  setFiles: Record<string, string>;
  timeoutSeconds: number;
}

/**
 * `helm upgrade --install … --wait`. Not `--atomic`: helm's own rollback would delete the failed
 * pods before their logs and events are read; `up` reports first, then rolls back itself.
 */
export function helmUpgradeInstall(request: HelmInstall): CommandLine {
  return {
    program: 'helm',
    args: [
      'upgrade', '--install', request.release, request.chart,
      '--namespace', request.namespace, '--create-namespace',
      '--values', request.valuesFile,
      ...(request.extraValues ?? []).flatMap((file) => ['--values', file]),
      ...Object.entries(request.setFiles).flatMap(([key, file]) => ['--set-file', `${key}=${file}`]),
      '--wait', '--timeout', `${request.timeoutSeconds}s`,
    ],
  };
}

/** Back to the revision before a failed upgrade. */
export const helmRollback = (release: string, namespace: string): CommandLine => ({ program: 'helm', args: ['rollback', release, '--namespace', namespace, '--wait'] });
export const getNamespace = (namespace: string): CommandLine => ({ program: 'kubectl', args: ['get', 'namespace', namespace, '--output', 'name'] });
export const deleteNamespace = (namespace: string): CommandLine => ({ program: 'kubectl', args: ['delete', 'namespace', namespace, '--wait=true'] });
export const podEvents = (namespace: string, pod: string): CommandLine => ({
  program: 'kubectl',
  args: ['get', 'events', '--namespace', namespace, '--field-selector', `involvedObject.kind=Pod,involvedObject.name=${pod}`, '--output', 'json'],
});
export const podLogTail = (namespace: string, pod: string, lines: number): CommandLine => ({
  program: 'kubectl',
  args: ['logs', '--namespace', namespace, pod, '--all-containers', '--prefix', '--tail', String(lines)],
});

export const helmUninstall = (release: string, namespace: string): CommandLine => ({ program: 'helm', args: ['uninstall', release, '--namespace', namespace, '--wait'] });
export const helmStatus = (release: string, namespace: string): CommandLine => ({ program: 'helm', args: ['status', release, '--namespace', namespace, '--output', 'json'] });
/** StatefulSets keep their volume claims after an uninstall; --volumes removes them. */
export const deleteVolumeClaims = (release: string, namespace: string): CommandLine => ({
  program: 'kubectl',
  args: ['delete', 'persistentvolumeclaim', '--namespace', namespace, '--selector', `app.kubernetes.io/instance=${release}`],
});

/** The chart's component of a compose service name (status and logs take either). */
export const CHART_COMPONENTS: Record<string, string> = {
  nats: 'nats',
  nats_cluster: 'nats',
  'cassandra-cluster-main': 'cassandra',
  'cassandra-cluster-node': 'cassandra',
  cassandra_inject: 'ingest',
  inject: 'inject',
  graphite: 'graphite',
  grafana: 'grafana',
  cassandra_stats: 'cassandra-stats',
  telegraf_max_voltage: 'telegraf-max-voltage',
  telegraf_temperature: 'telegraf-temperature',
  telegraf_prediction: 'telegraf-prediction',
  prometheus: 'prometheus',
  prometheus_nats_exporter: 'nats-exporter',
  'spark-master': 'spark-master',
  'spark-worker': 'spark-worker',
  hadoop: 'hadoop',
  // Any other service is a chart app, named by appName (app_streaming → app-streaming).
};

const selector = (release: string, component?: string) =>
  `app.kubernetes.io/instance=${release}${component ? `,app.kubernetes.io/component=${component}` : ''}`;

export const listClaims = (release: string, namespace: string): CommandLine => ({
  program: 'kubectl',
  args: ['get', 'persistentvolumeclaims', '--namespace', namespace, '--selector', selector(release), '--output', 'name'],
});

export const deleteClaims = (namespace: string, names: string[]): CommandLine => ({ program: 'kubectl', args: ['delete', '--namespace', namespace, '--ignore-not-found', ...names] });

export const listPods = (release: string, namespace: string): CommandLine => ({
  program: 'kubectl',
  args: ['get', 'pods', '--namespace', namespace, '--selector', selector(release), '--output', 'json'],
});

export const podLogs = (release: string, namespace: string, component: string, follow: boolean, tail: number): CommandLine => ({
  program: 'kubectl',
  args: ['logs', '--namespace', namespace, '--selector', selector(release, component), '--prefix', '--all-containers', '--tail', String(tail), ...(follow ? ['--follow'] : [])],
});

interface ContainerStatus {
  name?: string;
  ready: boolean;
  restartCount: number;
  state: { waiting?: { reason?: string }; running?: object; terminated?: { exitCode: number; reason?: string } };
}

/** What `kubectl get pods --output json` gives, as far as status and reports read it. */
export interface PodList {
  items: {
    metadata: { name?: string; labels?: Record<string, string>; deletionTimestamp?: string; ownerReferences?: { kind: string }[] };
    status: { phase: string; containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
  }[];
}

/** Waiting reasons that do not pass by themselves: the workload has failed. */
const FAILED_REASONS = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'ErrImageNeverPull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

/** A chart component's state (label app.kubernetes.io/component), as status prints it. */
export interface ComponentStatus extends ServiceStatus {
  phase: 'starting' | 'healthy' | 'completed' | 'failed';
  /** "pending (0/1 ready, ContainerCreating)", "ready (3/3)", "done", "failed: CrashLoopBackOff (0/1 ready, 4 restarts)". */
  detail: string;
  /** The pods of the component, the one to look at first (not ready, not done) leading. */
  pods: string[];
}

/** What `kubectl get deployments,statefulsets,jobs --output json` gives, as far as status reads it. */
export interface WorkloadList {
  items: { kind: string; metadata: { labels?: Record<string, string> }; status?: { conditions?: { type: string; status: string }[] } }[];
}

export const listWorkloads = (release: string, namespace: string): CommandLine => ({
  program: 'kubectl',
  args: ['get', 'deployments,statefulsets,jobs', '--namespace', namespace, '--selector', selector(release), '--output', 'json'],
});

/**
 * Each chart component (label app.kubernetes.io/component), in the phases `status` prints for
 * Compose and Swarm, from its pods and, when given, its workloads: a workload without pods yet is
 * pending; a Job is failed or done by its own conditions (its pods restart until its retries are
 * used up). Pods being deleted, and failed pods a ReplicaSet has replaced (evicted), are left out.
 */
export function componentStatuses(pods: PodList, workloads?: WorkloadList): ComponentStatus[] {
  const byComponent = new Map<string, PodList['items']>();
  for (const w of workloads?.items ?? []) {
    const component = w.metadata.labels?.['app.kubernetes.io/component'];
    if (component && !byComponent.has(component)) byComponent.set(component, []);
  }
  const jobCondition = (component: string, type: string) => (workloads?.items ?? []).some((w) => w.kind === 'Job' && w.metadata.labels?.['app.kubernetes.io/component'] === component
    && (w.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True'));
  for (const pod of pods.items) {
    if (pod.metadata.deletionTimestamp) continue;
    if (pod.status.phase === 'Failed' && pod.metadata.ownerReferences?.[0]?.kind === 'ReplicaSet') continue;
    const component = pod.metadata.labels?.['app.kubernetes.io/component'] ?? '?';
    byComponent.set(component, [...(byComponent.get(component) ?? []), pod]);
  }
  return [...byComponent].sort(([a], [b]) => a.localeCompare(b)).map(([service, list]): ComponentStatus => {
    const pods = list.map((p) => p.metadata.name ?? '?');
    if (jobCondition(service, 'Failed')) return { service, phase: 'failed', detail: 'failed: the Job used up its retries', replicas: { ready: 0, desired: list.length }, pods };
    if (list.length === 0) {
      const done = jobCondition(service, 'Complete');
      return { service, phase: done ? 'completed' : 'starting', detail: done ? 'done' : 'pending (no pods yet)', replicas: { ready: 0, desired: 0 }, pods: [] };
    }
    const isJob = list.some((p) => p.metadata.ownerReferences?.[0]?.kind === 'Job');
    const isReady = (p: PodList['items'][number]) => p.status.phase === 'Running' && (p.status.containerStatuses ?? []).length > 0 && (p.status.containerStatuses ?? []).every((c) => c.ready);
    const ready = list.filter(isReady).length;
    const succeeded = list.filter((p) => p.status.phase === 'Succeeded').length;
    const containers = list.flatMap((p) => [...(p.status.initContainerStatuses ?? []), ...(p.status.containerStatuses ?? [])]);
    // A Job's pod that crashes is retried; the Job's own Failed condition (above) decides.
    const failedReason = isJob ? undefined : containers.map((c) => c.state.waiting?.reason).find((r) => r !== undefined && FAILED_REASONS.has(r))
      ?? (list.some((p) => p.status.phase === 'Failed') ? 'Failed' : undefined);
    const waiting = containers.map((c) => c.state.waiting?.reason).find(Boolean) ?? (list.some((p) => p.status.phase === 'Pending') ? 'Pending' : undefined);
    const restarts = containers.reduce((sum, c) => sum + c.restartCount, 0);
    const running = list.length - succeeded;
    const extra = `${succeeded ? `, ${succeeded} done` : ''}${restarts ? `, ${restarts} restarts` : ''}`;
    let phase: ComponentStatus['phase'];
    let detail: string;
    if (failedReason) [phase, detail] = ['failed', `failed: ${failedReason} (${ready}/${running} ready${extra})`];
    else if (succeeded === list.length) [phase, detail] = ['completed', succeeded > 1 ? `done (${succeeded} pods)` : 'done'];
    // A Job's pods run to an end: "running", where a server's are "ready".
    else if (ready === running) [phase, detail] = ['healthy', `${isJob ? 'running' : 'ready'} (${ready}/${running}${extra})`];
    else [phase, detail] = ['starting', `pending (${ready}/${running} ready${extra}${waiting ? `, ${waiting}` : ''})`];
    if (isJob && jobCondition(service, 'Complete')) [phase, detail] = ['completed', succeeded > 1 ? `done (${succeeded} pods)` : 'done'];
    const order = (p: PodList['items'][number]) => (isReady(p) || p.status.phase === 'Succeeded' ? 1 : 0);
    // Ready: pods ready, or (Jobs) finished; of every live pod of the component.
    return { service, phase, detail, replicas: { ready: ready + succeeded, desired: list.length }, pods: [...list].sort((a, b) => order(a) - order(b)).map((p) => p.metadata.name ?? '?') };
  });
}

interface EventList {
  items: { type?: string; reason?: string; message?: string; count?: number; lastTimestamp?: string; eventTime?: string }[];
}

/** The last `limit` events of a pod, oldest first, as "Warning BackOff: Back-off restarting failed container (×4)". */
export function formatEvents(events: EventList, limit = 6): string[] {
  const time = (e: EventList['items'][number]) => e.lastTimestamp ?? e.eventTime ?? '';
  return [...events.items].sort((a, b) => time(a).localeCompare(time(b))).slice(-limit)
    .map((e) => `${e.type ?? 'Normal'} ${e.reason ?? '?'}: ${(e.message ?? '').trim()}${e.count && e.count > 1 ? ` (×${e.count})` : ''}`);
}
