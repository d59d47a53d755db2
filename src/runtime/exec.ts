/**
 * Running the engines' command-line tools (docker, docker-compose, helm). Drivers build plain
 * command lines (tested as values) and hand them to a Runner: the real one spawns them, the
 * dry-run one prints them.
 */
import { spawn } from 'node:child_process';
import { RuntimeError } from '../errors.js';

export interface CommandLine {
  program: string;
  args: string[];
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the child's stdin. */
  input?: string;
  /** Let the child write to our stdout/stderr (logs -f) instead of capturing. */
  inherit?: boolean;
}

export type Runner = (command: CommandLine, options?: RunOptions) => Promise<RunResult>;

/** Spawns the command; a missing program is named in one line. */
export const spawnRunner: Runner = (command, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(command.program, command.args, { stdio: [options.input === undefined ? 'ignore' : 'pipe', options.inherit ? 'inherit' : 'pipe', options.inherit ? 'inherit' : 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new RuntimeError(`${command.program} is not installed (not found on PATH)`) : new RuntimeError(`cannot run ${command.program}: ${error.message}`)));
    if (options.input !== undefined) child.stdin?.end(options.input);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });

/** Runs, and fails with the tool's own first error line when it exits non-zero. */
export async function runChecked(runner: Runner, command: CommandLine, what: string, options?: RunOptions): Promise<RunResult> {
  const result = await runner(command, options);
  if (result.code !== 0) throw new RuntimeError(`${what} failed: ${firstErrorLine(result)}`);
  return result;
}

/** The most telling line of a failed tool's output (its last non-empty stderr line, else stdout's). */
export function firstErrorLine(result: RunResult): string {
  const lines = (result.stderr.trim() || result.stdout.trim()).split('\n').map((l) => l.trim()).filter(Boolean);
  const error = lines.find((l) => /error|denied|not found|no such|cannot|unable|failed/i.test(l)) ?? lines.at(-1);
  return error ?? `exit code ${result.code}`;
}

/** A command line as a shell would take it (for --dry-run and messages). */
export function formatCommand(command: CommandLine): string {
  return [command.program, ...command.args].map(shellQuote).join(' ');
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_\-+=./:,@%]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
