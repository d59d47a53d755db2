/**
 * The Helm runtime: the project's chart on Kubernetes, with values from the same targets as
 * Compose's file, through the command lines of helm.ts (helm for the release, kubectl for what
 * its pods do).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RuntimeError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { appName, HELM_SECRET_VALUES, helmValues, needsRootWarnings, notInChartWarning } from '../combine/helm-values.js';
import type { YamlMap } from '../combine/merge.js';
import { formatHelmValues } from '../combine/output.js';
import { combineStack } from '../combine/stack.js';
import { containsCredentials, maskCredentials } from '../secrets.js';
import { firstErrorLine, runChecked, spawnRunner, type CommandLine, type Runner, type RunResult } from './exec.js';
import {
  CHART_COMPONENTS, CHART_DIR, componentStatuses, deleteClaims, deleteNamespace, deleteVolumeClaims, formatEvents, getNamespace, helmRollback, helmStatus,
  helmUninstall, helmUpgradeInstall, listClaims, listPods, listWorkloads, podEvents, podLogs, podLogTail, type ComponentStatus, type PodList, type WorkloadList,
} from './helm.js';
import { dryRunText, failureReport } from './report.js';
import { combineWords, type Deployment, type LogsOptions, type RemoveOptions, type Runtime, type StackStatus, type Ui, type UpRequest } from './runtime.js';
import { bindSecrets, withoutServices } from './stack-files.js';
import { checkNamespace, makeStackDir, readRecord, removeStackDir, stackDir, writeRecord, type StackRecord } from './state.js';

/** How often the pods are read while helm waits, in milliseconds. */
const POLL_MS = 2000;

/** The Helm runtime (helm and kubectl from PATH, KUBECONFIG as they read it). */
export const helmRuntime: Runtime = helmRuntimeWith(spawnRunner);

export function helmRuntimeWith(runner: Runner): Runtime {
  return {
    name: 'helm',
    plan: async (request) => {
      const prepared = prepare(request);
      const shown = formatHelmValues(maskCredentials(prepared.values) as YamlMap, prepared.header);
      return dryRunText(prepared.valuesFile, shown, prepared.containsSecrets, [prepared.install]);
    },
    deploy: (request, ui) => deploy(request, runner, ui),
    wait: (deployment, ui) => wait(deployment as HelmDeployment, runner, ui),
    status: (record) => status(record, runner),
    logs: async (record, service, options: LogsOptions) => {
      const component = CHART_COMPONENTS[service] ?? appName(service);
      return (await runner(podLogs(record.name, record.namespace!, component, options.follow, options.tail), { inherit: true })).code;
    },
    remove: (record, options) => remove(record, runner, options),
  };
}

interface Prepared {
  dir: string;
  valuesFile: string;
  values: YamlMap;
  header: Parameters<typeof formatHelmValues>[1];
  containsSecrets: boolean;
  install: CommandLine;
}

function prepare(request: UpRequest): Prepared {
  checkNamespace(request.namespace);
  const dir = stackDir(request.stateRoot, { runtime: 'helm', name: request.name, namespace: request.namespace });
  const { result, modes } = combineStack(request.stack);
  const document = withoutServices(result.document, request.without);
  const helm = helmValues(document, modes.clusterMode, result.property);
  const leftOut = notInChartWarning(helm.notInChart);
  if (leftOut) process.stderr.write(`${leftOut}\n`);
  for (const line of needsRootWarnings(helm.needsRoot)) process.stderr.write(`${line}\n`);
  // Secrets mode: the chart's Secrets are filled from the secret files, never written into the values.
  const setFiles = Object.fromEntries(bindSecrets(document, request.secretsDir).filter((s) => HELM_SECRET_VALUES[s.name]).map((s) => [HELM_SECRET_VALUES[s.name]!, s.file]));
  const valuesFile = join(dir, 'values.yaml');
  const extraValues = request.values.map((file) => {
    if (!existsSync(file)) throw new UsageError(`--values: ${file}: no such file`);
    return resolve(file);
  });
  const install = helmUpgradeInstall({ release: request.name, namespace: request.namespace, chart: CHART_DIR, valuesFile, extraValues, setFiles, timeoutSeconds: Math.ceil(request.timeoutMs / 1000) });
  return {
    dir, valuesFile, values: helm.values, header: { modes, targets: request.stack.targets }, install,
    containsSecrets: result.containsSecrets || containsCredentials(helm.values),
  };
}

interface HelmDeployment extends Deployment {
  request: UpRequest;
  started: number;
  /** helm upgrade --install --wait, running. */
  helmRun: Promise<RunResult>;
  upgrade: boolean;
  /** Claims an earlier install left (down without --volumes): they hold data, a failed install keeps them. */
  claimsBefore: Set<string>;
}

/**
 * Checks helm, kubectl and the cluster, writes the values and the record, and starts
 * `helm upgrade --install --wait` (which `wait` watches).
 */
async function deploy(request: UpRequest, runner: Runner, ui: Ui): Promise<HelmDeployment> {
  const prepared = prepare(request);
  const ns = request.namespace;
  await runChecked(runner, { program: 'helm', args: ['version', '--short'] }, 'helm version');
  await runChecked(runner, { program: 'kubectl', args: ['version', '--client'] }, 'kubectl version');
  const namespaceRead = await runner(getNamespace(ns));
  // Only a namespace that is really not there counts as made by this up (not: access refused).
  if (namespaceRead.code !== 0 && !/NotFound|not found/.test(namespaceRead.stderr)) {
    // kubectl's last line is its summary ("The connection to the server … was refused …").
    const summary = namespaceRead.stderr.trim().split('\n').at(-1) ?? `exit code ${namespaceRead.code}`;
    throw new RuntimeError(/refused|dial tcp|no such host|timeout|unreachable/i.test(namespaceRead.stderr)
      ? `Kubernetes cluster unreachable: ${summary}` : `kubectl get namespace ${ns} failed: ${summary}`);
  }
  const namespaceExisted = namespaceRead.code === 0;
  const previous = readRecord(request.stateRoot, { runtime: 'helm', name: request.name, namespace: ns });
  const now = new Date().toISOString();
  const record: StackRecord = {
    runtime: 'helm', name: request.name, file: prepared.valuesFile, namespace: ns, createdNetworks: [], createdNamespace: !namespaceExisted,
    ...combineWords(request), createdAt: now, updatedAt: now,
  };
  const upgrade = namespaceExisted && (await releaseExists(runner, record));
  const claimsBefore = namespaceExisted ? new Set((await runChecked(runner, listClaims(record.name, ns), 'kubectl get persistentvolumeclaims')).stdout.split('\n').filter(Boolean)) : new Set<string>();
  // An upgrade keeps what the first install recorded.
  if (upgrade) {
    record.createdNamespace = previous?.createdNamespace === true;
    record.createdAt = previous?.createdAt ?? now;
  }
  makeStackDir(request.stateRoot, prepared.dir);
  writeFileAtomic(prepared.valuesFile, formatHelmValues(prepared.values, prepared.header), { mode: prepared.containsSecrets ? 0o600 : 0o644 });
  writeRecord(prepared.dir, record);
  ui.log(`helm upgrade --install ${request.name} (namespace ${ns}), waiting up to ${Math.ceil(request.timeoutMs / 1000)} s`);
  const helmRun = runner(prepared.install);
  return { record, dir: prepared.dir, request, started: Date.now(), helmRun, upgrade, claimsBefore };
}

/**
 * While helm waits, prints each component's changes (pending → ready, a Job → done) as Compose's
 * `up` does; then waits for the Jobs too. On failure: the report of each component that is not
 * ready (its last log lines and events), then (unless --keep-on-failure) a rollback of an
 * upgrade, or the removal of a first install and of the namespace `up` created.
 */
async function wait(deployment: HelmDeployment, runner: Runner, ui: Ui): Promise<StackStatus> {
  const { record, request } = deployment;
  let finished: RunResult | undefined;
  void deployment.helmRun.then((outcome) => (finished = outcome));
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
    await Promise.race([deployment.helmRun, sleep(POLL_MS)]);
  }
  let outcome: RunResult = finished;
  await poll();
  // helm waits for Deployments and StatefulSets, not for Jobs: the inject pods may still be
  // waiting for ingest. Ready means every workload ready or done, as on Compose; a Job that used
  // up its retries fails at once, anything else gets until the timeout.
  const deadline = deployment.started + request.timeoutMs;
  while (outcome.code === 0 && (!readOk || statuses.some((s) => s.phase !== 'healthy' && s.phase !== 'completed'))) {
    if (statuses.some((s) => s.phase === 'failed' && s.detail.startsWith('failed: the Job'))) {
      outcome = { code: 1, stdout: '', stderr: 'Error: a Job failed after helm finished' };
      break;
    }
    if (Date.now() > deadline) {
      outcome = { code: 1, stdout: '', stderr: `Error: not every workload was ready within ${Math.ceil(request.timeoutMs / 1000)} s` };
      break;
    }
    await sleep(POLL_MS);
    await poll();
  }
  if (outcome.code !== 0) {
    const notReady = statuses.filter((s) => s.phase === 'failed' || s.phase === 'starting');
    for (const component of notReady) ui.log(await report(runner, record, component).catch((error: Error) => failureReport(component, [{ title: 'no report', text: error.message }])));
    if (request.keepOnFailure) ui.log(`left as it is (--keep-on-failure); remove it with: smartmeter down --name ${record.name} --runtime helm --namespace ${record.namespace} --volumes`);
    else await undo(runner, deployment, ui.log);
    const which = notReady.length ? `; not ready: ${notReady.map((s) => `${s.service} (${s.detail})`).join(', ')}` : '';
    throw new RuntimeError(`helm upgrade --install ${record.name} failed: ${firstErrorLine(outcome)}${which}`);
  }
  return { runtime: 'helm', name: record.name, namespace: record.namespace!, ready: true, services: statuses.map(plain) };
}

const plain = ({ service, phase, detail, replicas }: ComponentStatus) => ({ service, phase, detail, replicas });

/**
 * What `helm --atomic` would have done, after the report: roll an upgrade back, or remove a first
 * install with the claims it made (not those an earlier install left) and the namespace it made.
 */
async function undo(runner: Runner, deployment: HelmDeployment, log: (line: string) => void): Promise<void> {
  const { record } = deployment;
  const ns = record.namespace!;
  if (deployment.upgrade) {
    log(`rolling ${record.name} back to its previous revision (--keep-on-failure leaves it)`);
    const rollback = await runner(helmRollback(record.name, ns));
    if (rollback.code !== 0) log(`warning: helm rollback ${record.name} failed: ${firstErrorLine(rollback)}`);
    return;
  }
  log(`removing the failed release ${record.name} (--keep-on-failure leaves it)`);
  await runner(helmUninstall(record.name, ns));
  const claims = (await runner(listClaims(record.name, ns))).stdout.split('\n').filter((c) => c && !deployment.claimsBefore.has(c));
  if (claims.length) await runner(deleteClaims(ns, claims));
  if (record.createdNamespace) await runner(deleteNamespace(ns));
  removeStackDir(deployment.request.stateRoot, deployment.dir);
}

async function readStatuses(runner: Runner, record: StackRecord): Promise<ComponentStatus[]> {
  const pods = await runChecked(runner, listPods(record.name, record.namespace!), 'kubectl get pods');
  const workloads = await runChecked(runner, listWorkloads(record.name, record.namespace!), 'kubectl get deployments,statefulsets,jobs');
  return componentStatuses(JSON.parse(pods.stdout) as PodList, JSON.parse(workloads.stdout) as WorkloadList);
}

/** The component's first pod that is not ready: its last log lines and its events. */
async function report(runner: Runner, record: StackRecord, component: ComponentStatus): Promise<string> {
  const pod = component.pods[0];
  if (!pod) return failureReport(component, []);
  const logs = await runner(podLogTail(record.namespace!, pod, 20));
  const logText = logs.code === 0 ? logs.stdout : `(no log: ${firstErrorLine(logs)})`;
  const events = await runner(podEvents(record.namespace!, pod));
  const eventLines = events.code === 0 ? formatEvents(JSON.parse(events.stdout) as Parameters<typeof formatEvents>[0]) : [`(no events: ${firstErrorLine(events)})`];
  return failureReport(component, [
    { title: `last log lines of pod ${pod}`, text: logText },
    { title: `events of pod ${pod}`, text: eventLines.join('\n') },
  ]);
}

async function releaseExists(runner: Runner, record: StackRecord): Promise<boolean> {
  const status = await runner(helmStatus(record.name, record.namespace!)).catch(() => undefined);
  return status !== undefined && status.code === 0;
}

/** The release's revision and state (the headline), then each component from its pods (kubectl). */
async function status(record: StackRecord, runner: Runner): Promise<StackStatus> {
  const result = await runChecked(runner, helmStatus(record.name, record.namespace!), `helm status ${record.name}`);
  const release = JSON.parse(result.stdout) as { name: string; namespace: string; version: number; info: { status: string; last_deployed: string } };
  const components = await readStatuses(runner, record);
  return {
    runtime: 'helm',
    name: record.name,
    namespace: record.namespace!,
    ready: release.info.status === 'deployed' && components.every((c) => c.phase === 'healthy' || c.phase === 'completed'),
    services: components.map(plain),
    headline: `${release.name} (namespace ${release.namespace}) revision ${release.version}: ${release.info.status}, deployed ${release.info.last_deployed}`,
  };
}

/** helm uninstall (a release already gone is fine); with --volumes also the claims its StatefulSets kept, and the namespace `up` created. */
async function remove(record: StackRecord, runner: Runner, options: RemoveOptions): Promise<void> {
  const uninstall = await runner(helmUninstall(record.name, record.namespace!));
  if (uninstall.code !== 0 && !/not found/i.test(uninstall.stderr)) throw new RuntimeError(`helm uninstall ${record.name} failed: ${firstErrorLine(uninstall)}`);
  if (!options.volumes) return;
  await runChecked(runner, deleteVolumeClaims(record.name, record.namespace!), 'deleting the volume claims');
  if (record.createdNamespace) await runChecked(runner, deleteNamespace(record.namespace!), `deleting the namespace ${record.namespace}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
