/** `smartmeter status`: each service of a stack that `up` brought up, and its state (exit 1 unless all are ready). */
import { printStatus } from '../runtime/report.js';
import { runtimeFor } from '../runtime/runtime.js';
import { findRecord, stateRoot } from '../runtime/state.js';

export interface StatusOptions {
  name: string;
  /** The state root (see up). */
  stateDir?: string;
  /** Which stack called `name`, when several runtimes or namespaces have one. */
  runtime?: string;
  namespace?: string;
  json?: boolean;
}

export async function runStatus(options: StatusOptions): Promise<void> {
  const { record } = findRecord(stateRoot(options.stateDir), options.name, options);
  const status = await (await runtimeFor(record.runtime)).status(record);
  printStatus(status, options.json === true);
  if (!status.ready) process.exitCode = 1;
}
