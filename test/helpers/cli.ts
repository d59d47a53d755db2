import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'smartmeter');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (npm test builds it first) as a user would. */
export function runCli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    // A minimal environment: combine reads every variable as a property, so the caller's
    // own NATS_PASSWORD or GATLING_USERS_PER_SEC must not leak into the results.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...options.env },
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs any program; `undefined` when it is not installed. */
export function runTool(command: string, args: string[], cwd = ROOT): CliResult | undefined {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
