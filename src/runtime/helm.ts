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
