/** up, status and down of a Helm release: the parts of those commands that are Kubernetes'. */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.js';
import { parseDuration } from '../options.js';
import { firstErrorLine, formatCommand, runChecked, spawnRunner } from '../runtime/exec.js';
import { CHART_DIR, deleteVolumeClaims, helmStatus, helmUninstall, helmUpgradeInstall } from '../runtime/helm.js';
import { bindSecrets, stackDir, writeRecord, type StackRecord } from '../runtime/stack-files.js';
import { RuntimeError } from '../errors.js';
import { HELM_SECRET_VALUES, helmValues } from '../templates/helm-values.js';
import { formatHelmValues } from '../templates/output.js';
import { combineStack } from './combine.js';
import type { UpOptions } from './up.js';

export async function runHelmUp(options: UpOptions & { namespace: string }): Promise<void> {
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
  const text = formatHelmValues(helm.values, { modes, targets: options.targets });
  if (options.dryRun) {
    process.stdout.write(`# ${valuesFile}\n${text}\n# commands\n${formatCommand(install)}\n`);
    return;
  }
  await runChecked(spawnRunner, { program: 'helm', args: ['version', '--short'] }, 'helm version');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(valuesFile, text, { mode: result.containsSecrets ? 0o600 : 0o644 });
  const record: StackRecord = { runtime: 'helm', name: options.name, file: valuesFile, namespace: options.namespace, createdNetworks: [], createdAt: new Date().toISOString() };
  writeRecord(dir, record);
  process.stderr.write(`helm upgrade --install ${options.name} (namespace ${options.namespace}), waiting up to ${Math.ceil(timeoutMs / 1000)} s\n`);
  const outcome = await spawnRunner(install);
  // --atomic removed a failed release; then nothing is left to record.
  if (outcome.code !== 0 && options.keepOnFailure !== true) rmSync(dir, { recursive: true, force: true });
  if (outcome.code !== 0) throw new RuntimeError(`helm upgrade --install ${options.name} failed: ${firstErrorLine(outcome)}`);
  await runHelmStatus(record, options.json === true);
}

export async function runHelmStatus(record: StackRecord, json: boolean): Promise<void> {
  const result = await runChecked(spawnRunner, helmStatus(record.name, record.namespace!), `helm status ${record.name}`);
  const status = JSON.parse(result.stdout) as { name: string; namespace: string; version: number; info: { status: string; last_deployed: string } };
  const summary = { release: status.name, namespace: status.namespace, revision: status.version, status: status.info.status, deployed: status.info.last_deployed };
  process.stdout.write(json ? `${JSON.stringify(summary)}\n` : `${summary.release} (namespace ${summary.namespace}) revision ${summary.revision}: ${summary.status}, deployed ${summary.deployed}\n`);
  if (summary.status !== 'deployed') process.exitCode = 1;
}

export async function runHelmDown(record: StackRecord, volumes: boolean): Promise<void> {
  await runChecked(spawnRunner, helmUninstall(record.name, record.namespace!), `helm uninstall ${record.name}`);
  if (volumes) await runChecked(spawnRunner, deleteVolumeClaims(record.name, record.namespace!), 'deleting the volume claims');
}
