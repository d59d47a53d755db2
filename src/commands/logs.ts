// ---- The command line of `logs` (owned by the CLI; the handler below is the runtime's) ----
import { Command } from '@commander-js/extra-typings';
import { quietOption, withExamples, withStackOptions } from '../cli-kit.js';

/**
 * The command line of `logs`: its words, options and help. No --json: it passes the service's
 * own log text through, as docker or kubectl print it.
 */
function definition() {
  return withExamples(
    withStackOptions(new Command('logs').summary("a service's log, followed").argument('<service>', 'service name, as in the compose file'))
      .option('--no-follow', 'print and exit')
      .option('--tail <lines>', 'lines of history to start with', '100')
      .addOption(quietOption()),
    ['smartmeter logs cassandra_inject', 'smartmeter logs nats --no-follow --tail 20'],
  );
}

/** `logs`, ready to register: calls `runLogs` with the service and the options as parsed. */
export function command() {
  return definition().action(async (service, options) => {
    await runLogs(service, options);
  });
}
// ---- end of the command line of `logs` ----

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
