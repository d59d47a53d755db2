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
