import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

// The built module (npm test builds first): a child process runs it as the CLI would.
const STDIO_MODULE = pathToFileURL(join(ROOT, 'build', 'stdio.js')).href;

/**
 * Runs `writeStdout` of `bytes` bytes in a child whose stdout is a shell pipe (a real pipe, as
 * `smartmeter combine | less` gives); the reader starts only after `delay` seconds.
 */
function writeThroughPipe(bytes: number, options: { touchStdoutFirst: boolean; delay: number }) {
  const script = [
    // Touching process.stdout makes Node put the pipe into non-blocking mode: a full pipe then
    // gives EAGAIN to writeSync, the case writeStdout hands to process.stdout.
    options.touchStdoutFirst ? 'void process.stdout;' : '',
    `const { writeStdout } = await import(${JSON.stringify(STDIO_MODULE)});`,
    `writeStdout('x'.repeat(${bytes - 4}) + 'END\\n');`,
    "process.stderr.write('returned');",
  ].join('\n');
  const run = spawnSync('bash', ['-o', 'pipefail', '-c', `"$NODE" --input-type=module -e "$SCRIPT" | (sleep ${options.delay}; cat)`], {
    env: { ...process.env, NODE: process.execPath, SCRIPT: script },
    encoding: 'utf8',
    maxBuffer: 4 * bytes,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('writeStdout (combine prints with it, not through process.stdout)', () => {
  it.each([
    { pipe: 'a blocking pipe, while the reader waits', touchStdoutFirst: false },
    { pipe: 'a non-blocking pipe that fills up (EAGAIN)', touchStdoutFirst: true },
  ])('delivers a text larger than a pipe holds, all of it and in order, through $pipe', ({ touchStdoutFirst }) => {
    const run = writeThroughPipe(1_000_000, { touchStdoutFirst, delay: 0.3 });
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('returned');
    expect(run.stdout.length).toBe(1_000_000);
    expect(run.stdout.endsWith('xEND\n')).toBe(true);
  });
});
