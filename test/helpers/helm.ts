import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HELM_SECRET_VALUES } from '../../src/combine/helm-values.js';
import type { CliResult } from './cli.js';

/** The rig's helm (`rigService('helm')`'s values) with its own cache, config and data homes. */
export function rigHelm(rig: Record<string, string>, args: string[], input?: string): CliResult {
  const r = spawnSync(rig.HELM!, args, {
    encoding: 'utf8',
    input,
    env: { ...process.env, HELM_CACHE_HOME: rig.HELM_CACHE_HOME, HELM_CONFIG_HOME: rig.HELM_CONFIG_HOME, HELM_DATA_HOME: rig.HELM_DATA_HOME },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * One 0600 file per secret the chart takes (HELM_SECRET_VALUES), holding `<file>-value` and a
 * newline, in a new temporary directory; and the `--set-file <value>=<file>` arguments for helm.
 */
export function secretFiles(): { dir: string; setFiles: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'smartmeter-helm-secrets-'));
  const setFiles = Object.entries(HELM_SECRET_VALUES).flatMap(([file, key]) => {
    writeFileSync(join(dir, file), `${file}-value\n`);
    chmodSync(join(dir, file), 0o600);
    return ['--set-file', `${key}=${join(dir, file)}`];
  });
  return { dir, setFiles };
}
