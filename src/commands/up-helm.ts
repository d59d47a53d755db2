/** up, status, logs and down of a Helm release: the parts of those commands that are Kubernetes'. */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.js';
import { parseDuration } from '../parsers.js';
import { firstErrorLine, runChecked, spawnRunner, type Runner } from '../runtime/exec.js';
import {
  CHART_COMPONENTS, CHART_DIR, componentStatuses, deleteClaims, deleteNamespace, deleteVolumeClaims, formatEvents, getNamespace, helmRollback, helmStatus,
  helmUninstall, helmUpgradeInstall, listClaims, listPods, listWorkloads, podEvents, podLogs, podLogTail, type ComponentStatus, type PodList, type WorkloadList,
} from '../runtime/helm.js';
import { bindSecrets, readRecord, stackDir, withoutServices, writeRecord, type StackRecord } from '../runtime/stack-files.js';
import { RuntimeError, UsageError } from '../errors.js';
import { appName, HELM_SECRET_VALUES, helmValues, needsRootWarnings, notInChartWarning } from '../combine/helm-values.js';
import { formatHelmValues } from '../combine/output.js';
import { combineStack } from '../combine/stack.js';
import { printStatuses } from './status.js';
import { containsCredentials, maskCredentials } from '../secrets.js';
import type { YamlMap } from '../combine/merge.js';
import { dryRunText, progressUi, type UpOptions } from './up.js';

/** How often the pods are read while helm waits. */
const POLL_MS = 2000;

/**
 * Combines, writes the values, runs `helm upgrade --install --wait` and, while it waits, prints
 * each workload's changes (pending → ready, a Job → done) as Compose's `up` does. On failure:
 * the workloads that are not ready, each with its last log lines and events, then (unless
 * --keep-on-failure) a rollback of an upgrade, or the removal of a first install and of the
 * namespace `up` created.
 */
export async function runHelmUp(options: UpOptions): Promise<void> {
  const timeoutMs = parseDuration(options.timeout, '--timeout');
  const dir = stackDir(options.stateDir, options.name);
  const { result, modes } = combineStack(options);
  const document = withoutServices(result.document, options.without ?? []);
  const helm = helmValues(document, modes.clusterMode, result.property);
  const leftOut = notInChartWarning(helm.notInChart);
  if (leftOut) process.stderr.write(`${leftOut}\n`);
  for (const line of needsRootWarnings(helm.needsRoot)) process.stderr.write(`${line}\n`);
  // Secrets mode: the chart's Secrets are filled from the secret files, never written into the values.
  const setFiles = Object.fromEntries(bindSecrets(document, options.secretsDir).filter((s) => HELM_SECRET_VALUES[s.name]).map((s) => [HELM_SECRET_VALUES[s.name]!, s.file]));
  const valuesFile = join(dir, 'values.yaml');
  const extraValues = (options.values ?? []).map((file) => {
    if (!existsSync(file)) throw new UsageError(`--values: ${file}: no such file`);
    return resolve(file);
  });
  const install = helmUpgradeInstall({ release: options.name, namespace: options.namespace, chart: CHART_DIR, valuesFile, extraValues, setFiles, timeoutSeconds: Math.ceil(timeoutMs / 1000) });
  if (options.dryRun) {
    const shown = formatHelmValues(maskCredentials(helm.values) as YamlMap, { modes, targets: options.targets });
    process.stdout.write(dryRunText(valuesFile, shown, result.containsSecrets, [install]));
    return;
  }
  const runner = spawnRunner;
  await runChecked(runner, { program: 'helm', args: ['version', '--short'] }, 'helm version');
  await runChecked(runner, { program: 'kubectl', args: ['version', '--client'] }, 'kubectl version');
  const namespaceRead = await runner(getNamespace(options.namespace));
  // Only a namespace that is really not there counts as made by this up (not: access refused).
  if (namespaceRead.code !== 0 && !/NotFound|not found/.test(namespaceRead.stderr)) {
    // kubectl's last line is its summary ("The connection to the server … was refused …").
    const summary = namespaceRead.stderr.trim().split('\n').at(-1) ?? `exit code ${namespaceRead.code}`;
    throw new RuntimeError(/refused|dial tcp|no such host|timeout|unreachable/i.test(namespaceRead.stderr)
      ? `Kubernetes cluster unreachable: ${summary}` : `kubectl get namespace ${options.namespace} failed: ${summary}`);
  }
  const namespaceExisted = namespaceRead.code === 0;
  const record: StackRecord = {
    runtime: 'helm', name: options.name, file: valuesFile, namespace: options.namespace, createdNetworks: [], createdAt: new Date().toISOString(),
    createdNamespace: !namespaceExisted,
  };
  const upgrade = namespaceExisted && (await releaseExists(runner, record));
  // Claims an earlier install left (down without --volumes) hold data: a failed install keeps them.
  const claimsBefore = namespaceExisted ? new Set((await runChecked(runner, listClaims(record.name, options.namespace), 'kubectl get persistentvolumeclaims')).stdout.split('\n').filter(Boolean)) : new Set<string>();
  // An upgrade keeps what the first install recorded.
  if (upgrade) record.createdNamespace = readRecord(options.stateDir, options.name)?.createdNamespace === true;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(valuesFile, formatHelmValues(helm.values, { modes, targets: options.targets }), { mode: result.containsSecrets || containsCredentials(helm.values) ? 0o600 : 0o644 });
  writeRecord(dir, record);

  const ui = await progressUi(options.json === true);
  ui.log(`helm upgrade --install ${options.name} (namespace ${options.namespace}), waiting up to ${Math.ceil(timeoutMs / 1000)} s`);
  const started = Date.now();
  let finished: Awaited<ReturnType<Runner>> | undefined;
  const helmRun = runner(install).then((outcome) => (finished = outcome));
  let statuses: ComponentStatus[] = [];
  // A failed read keeps the last statuses for the display, but never counts as all ready.
  let readOk = false;
  const poll = async () => {
    const read = await readStatuses(runner, record).then((s) => s, () => undefined);
    readOk = read !== undefined && read.length > 0;
    if (read) statuses = read;
    ui.progress(statuses);
  };
  while (finished === undefined) {
    await poll();
    await Promise.race([helmRun, sleep(POLL_MS)]);
  }
  let outcome = finished;
  await poll();
  // helm waits for Deployments and StatefulSets, not for Jobs: the inject pods may still be
  // waiting for ingest. Ready means every workload ready or done, as on Compose; a Job that used
  // up its retries fails at once, anything else gets until the timeout.
  const deadline = started + timeoutMs;
  while (outcome.code === 0 && (!readOk || statuses.some((s) => s.phase !== 'healthy' && s.phase !== 'completed'))) {
    if (statuses.some((s) => s.phase === 'failed' && s.detail.startsWith('failed: the Job'))) {
      outcome = { code: 1, stdout: '', stderr: 'Error: a Job failed after helm finished' };
      break;
    }
    if (Date.now() > deadline) {
      outcome = { code: 1, stdout: '', stderr: `Error: not every workload was ready within ${Math.ceil(timeoutMs / 1000)} s` };
      break;
    }
    await sleep(POLL_MS);
    await poll();
  }
  if (outcome.code !== 0) {
    const notReady = statuses.filter((s) => s.phase === 'failed' || s.phase === 'starting');
    for (const component of notReady) ui.log(await failureReport(runner, record, component).catch((error: Error) => `${component.service}: ${component.detail} (no report: ${error.message})`));
    if (options.keepOnFailure !== true) await undo(runner, record, { upgrade, claimsBefore }, dir, ui.log);
    const which = notReady.length ? `; not ready: ${notReady.map((s) => `${s.service} (${s.detail})`).join(', ')}` : '';
    throw new RuntimeError(`helm upgrade --install ${options.name} failed: ${firstErrorLine(outcome)}${which}`);
  }
  printStatuses(statuses, options.json === true);
}

/**
 * What `helm --atomic` would have done, after the report: roll an upgrade back, or remove a first
 * install with the claims it made (not those an earlier install left) and the namespace it made.
 */
async function undo(runner: Runner, record: StackRecord, before: { upgrade: boolean; claimsBefore: Set<string> }, dir: string, log: (line: string) => void): Promise<void> {
  const ns = record.namespace!;
  if (before.upgrade) {
    log(`rolling ${record.name} back to its previous revision (--keep-on-failure leaves it)`);
    const rollback = await runner(helmRollback(record.name, ns));
    if (rollback.code !== 0) log(`warning: helm rollback ${record.name} failed: ${firstErrorLine(rollback)}`);
    return;
  }
  log(`removing the failed release ${record.name} (--keep-on-failure leaves it)`);
  await runner(helmUninstall(record.name, ns));
  const claims = (await runner(listClaims(record.name, ns))).stdout.split('\n').filter((c) => c && !before.claimsBefore.has(c));
  if (claims.length) await runner(deleteClaims(ns, claims));
  if (record.createdNamespace) await runner(deleteNamespace(ns));
  rmSync(dir, { recursive: true, force: true });
}

async function readStatuses(runner: Runner, record: StackRecord): Promise<ComponentStatus[]> {
  const pods = await runChecked(runner, listPods(record.name, record.namespace!), 'kubectl get pods');
  const workloads = await runChecked(runner, listWorkloads(record.name, record.namespace!), 'kubectl get deployments,statefulsets,jobs');
  return componentStatuses(JSON.parse(pods.stdout) as PodList, JSON.parse(workloads.stdout) as WorkloadList);
}

/** The component's first pod that is not ready: its last log lines and its events. */
async function failureReport(runner: Runner, record: StackRecord, component: ComponentStatus): Promise<string> {
  const pod = component.pods[0];
  if (!pod) return `${component.service}: ${component.detail}`;
  const logs = await runner(podLogTail(record.namespace!, pod, 20));
  const logText = logs.code === 0 ? logs.stdout.trimEnd() : `(no log: ${firstErrorLine(logs)})`;
  const events = await runner(podEvents(record.namespace!, pod));
  const eventLines = events.code === 0 ? formatEvents(JSON.parse(events.stdout) as Parameters<typeof formatEvents>[0]) : [];
  return [
    `${component.service} is not ready: ${component.detail}`,
    `--- last log lines of pod ${pod} ---`, logText || '(empty)',
    `--- events of pod ${pod} ---`, ...(eventLines.length ? eventLines : ['(none)']),
  ].join('\n');
}

async function releaseExists(runner: Runner, record: StackRecord): Promise<boolean> {
  const status = await runner(helmStatus(record.name, record.namespace!)).catch(() => undefined);
  return status !== undefined && status.code === 0;
}

/** The release's revision and state, then each component's pods (kubectl). */
export async function runHelmStatus(record: StackRecord, json: boolean): Promise<void> {
  const result = await runChecked(spawnRunner, helmStatus(record.name, record.namespace!), `helm status ${record.name}`);
  const status = JSON.parse(result.stdout) as { name: string; namespace: string; version: number; info: { status: string; last_deployed: string } };
  const release = { release: status.name, namespace: status.namespace, revision: status.version, status: status.info.status, deployed: status.info.last_deployed };
  const components = await readStatuses(spawnRunner, record);
  if (json) process.stdout.write(`${JSON.stringify({ ...release, services: components.map(({ service, phase, detail }) => ({ service, phase, detail })) })}\n`);
  else {
    process.stdout.write(`${release.release} (namespace ${release.namespace}) revision ${release.revision}: ${release.status}, deployed ${release.deployed}\n`);
    printStatuses(components, false);
  }
  if (release.status !== 'deployed' || components.some((c) => c.phase === 'failed' || c.phase === 'starting')) process.exitCode = 1;
}

/** helm uninstall (a release already gone is fine); with --volumes also the claims its StatefulSets kept, and the namespace `up` created. */
export async function runHelmDown(record: StackRecord, volumes: boolean): Promise<void> {
  const uninstall = await spawnRunner(helmUninstall(record.name, record.namespace!));
  if (uninstall.code !== 0 && !/not found/i.test(uninstall.stderr)) throw new RuntimeError(`helm uninstall ${record.name} failed: ${firstErrorLine(uninstall)}`);
  if (!volumes) return;
  await runChecked(spawnRunner, deleteVolumeClaims(record.name, record.namespace!), 'deleting the volume claims');
  if (record.createdNamespace) await runChecked(spawnRunner, deleteNamespace(record.namespace!), `deleting the namespace ${record.namespace}`);
}

export async function runHelmLogs(record: StackRecord, service: string, follow: boolean, tail: number): Promise<number> {
  const component = CHART_COMPONENTS[service] ?? appName(service);
  return (await spawnRunner(podLogs(record.name, record.namespace!, component, follow, tail), { inherit: true })).code;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
