/**
 * Where the rig keeps everything: `.rig/` in the repository (or $SMARTMETER_RIG_DIR).
 * Per service, `<service>/state.json` records the processes it started and the values
 * tests need (URLs, file paths); `cache/` holds downloads and builds kept between runs.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.ts';
import type { ProcessRecord } from './process.ts';

export const RIG_DIR = process.env.SMARTMETER_RIG_DIR ?? join(REPO_ROOT, '.rig');

export interface ServiceState {
  processes: ProcessRecord[];
  /** Values for tests and `rig env`: names without the SMARTMETER_RIG_ prefix. */
  values: Record<string, string>;
}

export function serviceDir(service: string): string {
  const dir = join(RIG_DIR, service);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export function cacheDir(name: string): string {
  const dir = join(RIG_DIR, 'cache', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function readState(service: string): ServiceState | undefined {
  const file = join(RIG_DIR, service, 'state.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as ServiceState;
}

export function writeState(service: string, state: ServiceState): void {
  // Written aside and renamed over, so that a test reading state.json never sees half of it;
  // 0600: the values include credentials of the rig's services.
  const file = join(serviceDir(service), 'state.json');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export function clearState(service: string): void {
  rmSync(join(RIG_DIR, service, 'state.json'), { force: true });
}
