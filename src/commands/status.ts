/** `smartmeter status`: each service of a stack that `up` brought up, and its state (exit 1 unless all are ready). */
import { Command } from '@commander-js/extra-typings';
import { jsonOption, quietOption, withExamples, withStackLookupOptions, withStackOptions, type OptionsOf } from '../cli-kit.js';
import { printStatus } from '../runtime/report.js';
import { runtimeFor } from '../runtime/runtime.js';
import { findRecord, stateRoot } from '../runtime/state.js';

/** The command's name on the command line (cli.ts builds only the named command's definition). */
export const name = 'status';

/** The command line of `status`: its options and help. */
function definition() {
  return withExamples(
    withStackLookupOptions(withStackOptions(new Command(name).summary('each service of a stack and its state (exit 1 unless all are ready)')))
      .addOption(jsonOption('the stack\'s state, the same on every runtime: {"runtime", "name", "namespace" (null off Kubernetes), "ready", "services": [{"name", "state" (starting|healthy|running|completed|failed), "detail", "replicas": {"ready", "desired"}}]}'))
      .addOption(quietOption()),
    ['smartmeter status', 'smartmeter status --name test --json', 'smartmeter status --name meters --runtime helm --namespace meters'],
  );
}

/** `status`, ready to register: calls `runStatus` with the options as parsed. */
export function command() {
  return definition().action(async (options) => {
    await runStatus(options);
  });
}

/** The options as parsed, typed from the definition. */
export type StatusOptions = OptionsOf<typeof definition>;

export async function runStatus(options: StatusOptions): Promise<void> {
  const { record } = findRecord(stateRoot(options.stateDir), options.name, options);
  const status = await (await runtimeFor(record.runtime)).status(record);
  printStatus(status, options.json === true);
  if (!status.ready) process.exitCode = 1;
}
