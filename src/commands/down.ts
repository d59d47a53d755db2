/** `smartmeter down`: remove what `up` created, and its record. */
import { runtimeFor } from '../runtime/runtime.js';
import { describeKey, findRecord, removeStackDir, stateRoot } from '../runtime/state.js';

export interface DownOptions {
  name: string;
  /** The state root (see up). */
  stateDir?: string;
  /** Which stack called `name`, when several runtimes or namespaces have one. */
  runtime?: string;
  namespace?: string;
  volumes?: boolean;
}

export async function runDown(options: DownOptions): Promise<void> {
  const root = stateRoot(options.stateDir);
  const { record, dir } = findRecord(root, options.name, options);
  const log = (line: string) => process.stderr.write(`smartmeter: ${line}\n`);
  await (await runtimeFor(record.runtime)).remove(record, { volumes: options.volumes === true, log });
  removeStackDir(root, dir);
  process.stderr.write(`stack ${record.name} (${describeKey(record)}) removed${options.volumes ? ', with its volumes' : ''}\n`);
}
