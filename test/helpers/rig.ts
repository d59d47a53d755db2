import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

interface RigState {
  processes: { name: string; pid: number }[];
  values: Record<string, string>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The values the rig recorded for `service` (URLs, file paths), or undefined when the rig
 * does not run it. Under CI=true a missing service fails the suite loudly; elsewhere the
 * suite is skipped with the command that would enable it.
 */
export function rigService(service: string): Record<string, string> | undefined {
  const dir = process.env.SMARTMETER_RIG_DIR ?? join(ROOT, '.rig');
  const file = join(dir, service, 'state.json');
  const state = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RigState) : undefined;
  const running = state !== undefined && state.processes.every((p) => alive(p.pid));
  if (running) return state.values;
  const hint = `the rig's ${service} is not running: npm run rig -- up ${service}`;
  if (process.env.CI === 'true') throw new Error(hint);
  console.warn(`skipping: ${hint}`);
  return undefined;
}
