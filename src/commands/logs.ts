/** `smartmeter logs <service>`: a service's log, followed unless --no-follow. */
import { nonNegativeInteger } from '../parsers.js';
import { runtimeFor } from '../runtime/runtime.js';
import { findRecord, stateRoot } from '../runtime/state.js';

export interface LogsOptions {
  name: string;
  /** The state root (see up). */
  stateDir?: string;
  /** Which stack called `name`, when several runtimes or namespaces have one. */
  runtime?: string;
  namespace?: string;
  follow: boolean;
  tail: string;
}

export async function runLogs(service: string, options: LogsOptions): Promise<void> {
  const tail = nonNegativeInteger(options.tail, '--tail');
  const { record } = findRecord(stateRoot(options.stateDir), options.name, options);
  const code = await (await runtimeFor(record.runtime)).logs(record, service, { follow: options.follow, tail });
  if (code !== 0) process.exitCode = code;
}
