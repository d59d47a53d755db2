// ---- The command line of `status` (owned by the CLI; the handler below is the runtime's) ----
import { Command } from '@commander-js/extra-typings';
import { jsonOption, quietOption, withExamples, withStackOptions } from '../cli-kit.js';

/** The command line of `status`: its options and help. */
function definition() {
  return withExamples(
    withStackOptions(new Command('status').summary('each service of a stack and its state (exit 1 unless all are ready)'))
      .addOption(jsonOption('the states, [{"service", "phase", "detail"}] (Helm: {"release", "namespace", "revision", "status", "deployed", "services": [...]})'))
      .addOption(quietOption()),
    ['smartmeter status', 'smartmeter status --name test --json'],
  );
}

/** `status`, ready to register: calls `runStatus` with the options as parsed. */
export function command() {
  return definition().action(async (options) => {
    await runStatus(options);
  });
}
// ---- end of the command line of `status` ----

/** `smartmeter status`: each service of a stack that `up` brought up, and its state. */
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { RuntimeError } from '../errors.js';
import type { ServiceStatus } from '../runtime/docker.js';
import { spawnRunner } from '../runtime/exec.js';
import { readRecord, servicesOf, type StackRecord } from '../runtime/stack-files.js';
import { dockerStatus } from '../runtime/stack.js';
import type { YamlMap } from '../combine/merge.js';

export interface StatusOptions {
  name: string;
  stateDir: string;
  json?: boolean;
}

export async function runStatus(options: StatusOptions): Promise<void> {
  const record = recordOf(options.stateDir, options.name);
  if (record.runtime === 'helm') {
    const { runHelmStatus } = await import('./up-helm.js');
    await runHelmStatus(record, options.json === true);
    return;
  }
  const services = Object.keys(servicesOf(load(readFileSync(record.file, 'utf8')) as YamlMap)).sort();
  const statuses = await dockerStatus(record, spawnRunner, services);
  printStatuses(statuses, options.json === true);
  if (statuses.some((s) => s.phase === 'failed' || s.phase === 'starting')) process.exitCode = 1;
}

export function recordOf(stateDir: string, name: string): StackRecord {
  const record = readRecord(stateDir, name);
  if (!record) throw new RuntimeError(`no stack "${name}" was brought up from here (nothing in ${stateDir}/${name}; see --state-dir and --name)`);
  return record;
}

export function printStatuses(statuses: readonly ServiceStatus[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(statuses.map(({ service, phase, detail }) => ({ service, phase, detail })))}\n`);
    return;
  }
  const width = Math.max(7, ...statuses.map((s) => s.service.length));
  process.stdout.write(`${'SERVICE'.padEnd(width)}  ${'STATE'.padEnd(9)}  DETAIL\n`);
  for (const s of statuses) process.stdout.write(`${s.service.padEnd(width)}  ${s.phase.padEnd(9)}  ${s.detail}\n`);
}
