/** `smartmeter logs <service>`: a service's log, followed unless --no-follow. */
import { Command } from '@commander-js/extra-typings';
import { quietOption, withExamples, withStackLookupOptions, withStackOptions, type OptionsOf } from '../cli-kit.js';
import { nonNegativeInteger } from '../parsers.js';
import { runtimeFor } from '../runtime/runtime.js';
import { findRecord, stateRoot } from '../runtime/state.js';

/** The command's name on the command line (cli.ts builds only the named command's definition). */
export const name = 'logs';

/**
 * The command line of `logs`: its words, options and help. No --json: it passes the service's
 * own log text through, as docker or kubectl print it.
 */
function definition() {
  return withExamples(
    withStackLookupOptions(withStackOptions(new Command(name).summary("a service's log, followed").argument('<service>', 'service name, as in the compose file')))
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

/** The options as parsed, typed from the definition. */
export type LogsOptions = OptionsOf<typeof definition>;

export async function runLogs(service: string, options: LogsOptions): Promise<void> {
  const tail = nonNegativeInteger(options.tail, '--tail');
  const { record } = findRecord(stateRoot(options.stateDir), options.name, options);
  const code = await (await runtimeFor(record.runtime)).logs(record, service, { follow: options.follow, tail });
  if (code !== 0) process.exitCode = code;
}
