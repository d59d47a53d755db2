/**
 * Where the rig keeps everything: `.rig/` in the repository (or $SMARTMETER_RIG_DIR).
 * Per service, `<service>/state.json` records the processes it started and the values
 * tests need (URLs, file paths); `cache/` holds downloads and builds kept between runs.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.js';
import { PACKAGE_ROOT } from '../paths.js';
import type { ProcessRecord } from './process.js';

export const RIG_DIR = process.env.SMARTMETER_RIG_DIR ?? join(PACKAGE_ROOT, '.rig');

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
  writeFileAtomic(join(serviceDir(service), 'state.json'), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export function clearState(service: string): void {
  rmSync(join(RIG_DIR, service, 'state.json'), { force: true });
}
