/**
 * Background processes of the test rig: started detached with their output in a log file,
 * recorded by pid, and stopped only if the pid still runs the command the rig started
 * (a pid can be reused by an unrelated process after a reboot or a crash).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { RuntimeError } from './errors.ts';

export interface ProcessRecord {
  /** What this process is, e.g. "nats-auth". */
  name: string;
  pid: number;
  /** Executable path as started; checked against /proc/<pid>/cmdline before any signal. */
  executable: string;
  args: string[];
  log: string;
}

export interface StartOptions {
  name: string;
  executable: string;
  args: string[];
  log: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export function startDaemon(options: StartOptions): ProcessRecord {
  const fd = openSync(options.log, 'a', 0o600);
  try {
    const child = spawn(options.executable, options.args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
    });
    if (child.pid === undefined) throw new RuntimeError(`cannot start ${options.executable}`);
    child.unref();
    return { name: options.name, pid: child.pid, executable: options.executable, args: options.args, log: options.log };
  } finally {
    closeSync(fd);
  }
}

/** True when `record.pid` is alive and still runs the command the rig started (args empty: an adopted process, program only). */
export function isRunning(record: ProcessRecord): boolean {
  try {
    process.kill(record.pid, 0);
  } catch {
    return false;
  }
  try {
    // The whole command line must be the one the rig started (executable name, then its arguments).
    const argv = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0');
    const program = argv[0] ?? '';
    const sameProgram = program === record.executable || program.endsWith(`/${record.executable}`);
    const sameArgs = record.args.length === 0 || (argv.length === record.args.length + 1 && record.args.every((arg, i) => argv[i + 1] === arg));
    return sameProgram && sameArgs;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; only the rig's own process, by pid. */
export async function stopProcess(record: ProcessRecord, graceMs = 20_000): Promise<void> {
  if (!isRunning(record)) return;
  process.kill(record.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(record)) return;
    await sleep(100);
  }
  if (isRunning(record)) process.kill(record.pid, 'SIGKILL');
  await sleep(200);
}

export function tailLog(path: string, lines = 20): string {
  if (!existsSync(path)) return '(no log)';
  const text = readFileSync(path, 'utf8').trimEnd().split('\n');
  return text.slice(-lines).join('\n');
}

export async function waitUntil<T>(
  check: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs: number; intervalMs?: number; what: string; alive?: () => boolean; log?: string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (options.alive && !options.alive()) break;
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(options.intervalMs ?? 250);
  }
  const why = options.alive && !options.alive() ? 'the process exited' : `not ready after ${options.timeoutMs / 1000} s`;
  const log = options.log ? `\n--- last lines of ${options.log} ---\n${tailLog(options.log)}` : '';
  throw new RuntimeError(`${options.what}: ${why}${lastError ? ` (last error: ${lastError})` : ''}${log}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs a command to completion; its output is returned, and a failure is an error with it. */
export function run(executable: string, args: string[], options: { env?: Record<string, string | undefined>; cwd?: string; input?: string } = {}): string {
  const result = spawnSync(executable, args, {
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    input: options.input,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new RuntimeError(`cannot run ${executable}: ${result.error.message}`);
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new RuntimeError(`${executable} ${args.join(' ')} failed (exit ${result.status})\n${output}`);
  }
  return result.stdout;
}

export function which(executable: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${executable}`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function ensurePortFree(port: number, what: string): Promise<void> {
  if (await canConnect(port)) {
    throw new RuntimeError(`${what}: 127.0.0.1:${port} is already taken by a process the rig did not start`);
  }
}
