/** up, status and down of a Helm release: the parts of those commands that are Kubernetes'. */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.js';
import { parseDuration } from '../options.js';
import { firstErrorLine, runChecked, spawnRunner } from '../runtime/exec.js';
import { CHART_COMPONENTS, CHART_DIR, componentStatuses, deleteVolumeClaims, helmStatus, helmUninstall, helmUpgradeInstall, listPods, podLogs } from '../runtime/helm.js';
import { bindSecrets, stackDir, writeRecord, type StackRecord } from '../runtime/stack-files.js';
import { RuntimeError } from '../errors.js';
import { HELM_SECRET_VALUES, helmValues } from '../templates/helm-values.js';
import { formatHelmValues } from '../templates/output.js';
import { combineStack } from './combine.js';
import { printStatuses } from './status.js';
import { maskCredentials } from '../templates/combine.js';
import type { YamlMap } from '../templates/merge.js';
import { dryRunText, type UpOptions } from './up.js';

export async function runHelmUp(options: UpOptions): Promise<void> {
  const timeoutMs = parseDuration(options.timeout, '--timeout');
  const dir = stackDir(options.stateDir, options.name);
  const { result, modes } = combineStack(options);
  const helm = helmValues(result.document, modes.clusterMode);
  if (helm.notInChart.length) process.stderr.write(`smartmeter: warning: not in the Helm chart, left out: ${helm.notInChart.join(', ')}\n`);
  // Secrets mode: the chart's Secrets are filled from the secret files, never written into the values.
  const setFiles = Object.fromEntries(bindSecrets(result.document, options.secretsDir).filter((s) => HELM_SECRET_VALUES[s.name]).map((s) => [HELM_SECRET_VALUES[s.name]!, s.file]));
  const valuesFile = join(dir, 'values.yaml');
  const install = helmUpgradeInstall({
    release: options.name,
    namespace: options.namespace,
    chart: CHART_DIR,
    valuesFile,
    setFiles,
    timeoutSeconds: Math.ceil(timeoutMs / 1000),
    atomic: options.keepOnFailure !== true,
  });
  if (options.dryRun) {
    const shown = formatHelmValues(maskCredentials(helm.values) as YamlMap, { modes, targets: options.targets });
    process.stdout.write(dryRunText(valuesFile, shown, result.containsSecrets, [install]));
    return;
  }
  const text = formatHelmValues(helm.values, { modes, targets: options.targets });
  await runChecked(spawnRunner, { program: 'helm', args: ['version', '--short'] }, 'helm version');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(valuesFile, text, { mode: result.containsSecrets ? 0o600 : 0o644 });
  const record: StackRecord = { runtime: 'helm', name: options.name, file: valuesFile, namespace: options.namespace, createdNetworks: [], createdAt: new Date().toISOString() };
  writeRecord(dir, record);
  process.stderr.write(`helm upgrade --install ${options.name} (namespace ${options.namespace}), waiting up to ${Math.ceil(timeoutMs / 1000)} s\n`);
  const outcome = await spawnRunner(install);
  // A failed first install is gone (--atomic); a failed upgrade rolled back and still runs: keep its record.
  if (outcome.code !== 0 && options.keepOnFailure !== true && !(await releaseExists(record))) rmSync(dir, { recursive: true, force: true });
  if (outcome.code !== 0) throw new RuntimeError(`helm upgrade --install ${options.name} failed: ${firstErrorLine(outcome)}`);
  await runHelmStatus(record, options.json === true);
}

async function releaseExists(record: StackRecord): Promise<boolean> {
  const status = await spawnRunner(helmStatus(record.name, record.namespace!)).catch(() => undefined);
  return status !== undefined && !/not found/i.test(status.stderr) && status.code === 0;
}

/** The release's revision and state, then each component's pods (kubectl). */
export async function runHelmStatus(record: StackRecord, json: boolean): Promise<void> {
  const result = await runChecked(spawnRunner, helmStatus(record.name, record.namespace!), `helm status ${record.name}`);
  const status = JSON.parse(result.stdout) as { name: string; namespace: string; version: number; info: { status: string; last_deployed: string } };
  const release = { release: status.name, namespace: status.namespace, revision: status.version, status: status.info.status, deployed: status.info.last_deployed };
  const pods = await runChecked(spawnRunner, listPods(record.name, record.namespace!), 'kubectl get pods');
  const components = componentStatuses(JSON.parse(pods.stdout) as Parameters<typeof componentStatuses>[0]);
  if (json) process.stdout.write(`${JSON.stringify({ ...release, services: components.map(({ service, phase, detail }) => ({ service, phase, detail })) })}\n`);
  else {
    process.stdout.write(`${release.release} (namespace ${release.namespace}) revision ${release.revision}: ${release.status}, deployed ${release.deployed}\n`);
    printStatuses(components, false);
  }
  if (release.status !== 'deployed' || components.some((c) => c.phase === 'failed' || c.phase === 'starting')) process.exitCode = 1;
}

/** helm uninstall (a release already gone is fine), then with --volumes the claims its StatefulSets kept. */
export async function runHelmDown(record: StackRecord, volumes: boolean): Promise<void> {
  const uninstall = await spawnRunner(helmUninstall(record.name, record.namespace!));
  if (uninstall.code !== 0 && !/not found/i.test(uninstall.stderr)) throw new RuntimeError(`helm uninstall ${record.name} failed: ${firstErrorLine(uninstall)}`);
  if (volumes) await runChecked(spawnRunner, deleteVolumeClaims(record.name, record.namespace!), 'deleting the volume claims');
}

export async function runHelmLogs(record: StackRecord, service: string, follow: boolean, tail: number): Promise<number> {
  const component = CHART_COMPONENTS[service] ?? service;
  return (await spawnRunner(podLogs(record.name, record.namespace!, component, follow, tail), { inherit: true })).code;
}
