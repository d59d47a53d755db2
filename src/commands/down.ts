// ---- The command line of `down` (owned by the CLI; the handler below is the runtime's) ----
import { Command } from '@commander-js/extra-typings';
import { quietOption, withExamples, withStackOptions } from '../cli-kit.js';

/** The command line of `down`: its options and help. */
function definition() {
  return withExamples(
    withStackOptions(new Command('down').summary('remove a stack that up brought up'))
      .option('-v, --volumes', 'also remove its volumes (the data of NATS, Cassandra, Graphite…)')
      .addOption(quietOption()),
    ['smartmeter down', 'smartmeter down --name test --volumes'],
  );
}

/** `down`, ready to register: calls `runDown` with the options as parsed. */
export function command() {
  return definition().action(async (options) => {
    await runDown(options);
  });
}
// ---- end of the command line of `down` ----

/** `smartmeter down`: remove what `up` created. */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { spawnRunner } from '../runtime/exec.js';
import { dockerDown } from '../runtime/stack.js';
import { recordOf } from './status.js';

export interface DownOptions {
  name: string;
  stateDir: string;
  volumes?: boolean;
}

export async function runDown(options: DownOptions): Promise<void> {
  const record = recordOf(options.stateDir, options.name);
  const log = (line: string) => process.stderr.write(`smartmeter: ${line}\n`);
  if (record.runtime === 'helm') {
    const { runHelmDown } = await import('./up-helm.js');
    await runHelmDown(record, options.volumes === true);
    rmSync(dirname(record.file), { recursive: true, force: true });
  } else {
    await dockerDown(record, spawnRunner, { volumes: options.volumes === true, log });
  }
  process.stderr.write(`stack ${record.name} (${record.runtime}) removed${options.volumes ? ', with its volumes' : ''}\n`);
}
