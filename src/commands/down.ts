/** `smartmeter down`: remove what `up` created, and its record. */
import { Command } from '@commander-js/extra-typings';
import { quietOption, withExamples, withStackLookupOptions, withStackOptions, type OptionsOf } from '../cli-kit.js';
import { runtimeFor } from '../runtime/runtime.js';
import { describeKey, findRecord, removeStackDir, stateRoot } from '../runtime/state.js';

/** The command's name on the command line (cli.ts builds only the named command's definition). */
export const name = 'down';

/** The command line of `down`: its options and help. */
function definition() {
  return withExamples(
    withStackLookupOptions(withStackOptions(new Command(name).summary('remove a stack that up brought up')))
      .option('-v, --volumes', 'also remove its volumes (the data of NATS, Cassandra, Graphite…)')
      .addOption(quietOption()),
    ['smartmeter down', 'smartmeter down --name test --volumes', 'smartmeter down --name meters --runtime helm --namespace meters'],
  );
}

/** `down`, ready to register: calls `runDown` with the options as parsed. */
export function command() {
  return definition().action(async (options) => {
    await runDown(options);
  });
}

/** The options as parsed, typed from the definition. */
export type DownOptions = OptionsOf<typeof definition>;

export async function runDown(options: DownOptions): Promise<void> {
  const root = stateRoot(options.stateDir);
  const { record, dir } = findRecord(root, options.name, options);
  const log = (line: string) => process.stderr.write(`smartmeter: ${line}\n`);
  await (await runtimeFor(record.runtime)).remove(record, { volumes: options.volumes === true, log });
  removeStackDir(root, dir);
  if (!options.quiet) process.stderr.write(`stack ${record.name} (${describeKey(record)}) removed${options.volumes ? ', with its volumes' : ''}\n`);
}
