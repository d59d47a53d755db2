/**
 * Kubernetes through Helm: the project's chart (templates/helm/smart-meter) with values from
 * `combine --format helm`. The command lines are plain values; helm talks to the cluster.
 */
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import type { CommandLine } from './exec.js';

export const CHART_DIR = join(PACKAGE_ROOT, 'templates', 'helm', 'smart-meter');

export interface HelmInstall {
  release: string;
  namespace: string;
  chart: string;
  valuesFile: string;
  /** value key → file whose content becomes the value (the secret files in secrets mode). */
  setFiles: Record<string, string>;
  timeoutSeconds: number;
  /** Roll back (uninstall a first install) when the release does not become ready. */
  atomic: boolean;
}

export function helmUpgradeInstall(request: HelmInstall): CommandLine {
  return {
    program: 'helm',
    args: [
      'upgrade', '--install', request.release, request.chart,
      '--namespace', request.namespace, '--create-namespace',
      '--values', request.valuesFile,
      ...Object.entries(request.setFiles).flatMap(([key, file]) => ['--set-file', `${key}=${file}`]),
      '--wait', '--timeout', `${request.timeoutSeconds}s`,
      ...(request.atomic ? ['--atomic'] : []),
    ],
  };
}

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
};

const selector = (release: string, component?: string) =>
  `app.kubernetes.io/instance=${release}${component ? `,app.kubernetes.io/component=${component}` : ''}`;

export const listPods = (release: string, namespace: string): CommandLine => ({
  program: 'kubectl',
  args: ['get', 'pods', '--namespace', namespace, '--selector', selector(release), '--output', 'json'],
});

export const podLogs = (release: string, namespace: string, component: string, follow: boolean, tail: number): CommandLine => ({
  program: 'kubectl',
  args: ['logs', '--namespace', namespace, '--selector', selector(release, component), '--prefix', '--all-containers', '--tail', String(tail), ...(follow ? ['--follow'] : [])],
});

interface PodList {
  items: {
    metadata: { labels?: Record<string, string> };
    status: { phase: string; containerStatuses?: { ready: boolean; restartCount: number; state: { waiting?: { reason?: string }; terminated?: { exitCode: number } } }[] };
  }[];
}

/** Each component's pods, in the phases `status` prints for Compose and Swarm. */
export function componentStatuses(pods: PodList): { service: string; phase: 'starting' | 'healthy' | 'completed' | 'failed'; detail: string; containers: string[] }[] {
  const byComponent = new Map<string, PodList['items']>();
  for (const pod of pods.items) {
    const component = pod.metadata.labels?.['app.kubernetes.io/component'] ?? '?';
    byComponent.set(component, [...(byComponent.get(component) ?? []), pod]);
  }
  return [...byComponent].sort(([a], [b]) => a.localeCompare(b)).map(([service, list]) => {
    const ready = list.filter((p) => p.status.phase === 'Running' && (p.status.containerStatuses ?? []).every((c) => c.ready)).length;
    const succeeded = list.filter((p) => p.status.phase === 'Succeeded').length;
    const crashing = list.flatMap((p) => p.status.containerStatuses ?? []).find((c) => c.state.waiting?.reason === 'CrashLoopBackOff' || c.state.waiting?.reason === 'ImagePullBackOff' || c.state.waiting?.reason === 'ErrImagePull');
    const failed = list.filter((p) => p.status.phase === 'Failed').length;
    const detail = `${ready}/${list.length} pods ready${succeeded ? `, ${succeeded} succeeded` : ''}${crashing ? `, ${crashing.state.waiting!.reason}` : ''}`;
    const phase = crashing || failed ? 'failed' : succeeded === list.length ? 'completed' : ready + succeeded === list.length ? 'healthy' : 'starting';
    return { service, phase, detail, containers: [] };
  });
}
