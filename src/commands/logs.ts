/** `smartmeter logs <service>`: a service's log, followed unless --no-follow. */
import { nonNegativeInteger } from '../parsers.js';
import { spawnRunner } from '../runtime/exec.js';
import { dockerLogsCommand } from '../runtime/stack.js';
import { recordOf } from './status.js';

export interface LogsOptions {
  name: string;
  stateDir: string;
  follow: boolean;
  tail: string;
}

export async function runLogs(service: string, options: LogsOptions): Promise<void> {
  const record = recordOf(options.stateDir, options.name);
  const tail = nonNegativeInteger(options.tail, '--tail');
  if (record.runtime === 'helm') {
    const { runHelmLogs } = await import('./up-helm.js');
    const code = await runHelmLogs(record, service, options.follow, tail);
    if (code !== 0) process.exitCode = code;
    return;
  }
  const result = await spawnRunner(dockerLogsCommand(record, service, options.follow, tail), { inherit: true });
  if (result.code !== 0) process.exitCode = result.code;
}
