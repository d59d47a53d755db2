import { writeSync } from 'node:fs';

/**
 * Writes `text` to standard output (fd 1) synchronously, for a command whose whole output is one
 * text (`combine`). Unlike `process.stdout.write`, it does not create `process.stdout`, which loads
 * Node's stream modules (and, for a pipe, its net modules): about 6 ms of `combine`'s start-up
 * (docs/performance.md). Must not follow an unfinished `process.stdout.write` (the order would be
 * lost). A reader that went away (EPIPE) ends the process quietly with the current exit code, as
 * bin/smartmeter does for the streams; a full non-blocking pipe (EAGAIN) hands the rest to
 * `process.stdout`, which waits for the reader.
 */
export function writeStdout(text: string): void {
  let rest = Buffer.from(text);
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(1, rest));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') process.exit(process.exitCode ?? 0);
      if (code !== 'EAGAIN') throw error;
      process.stdout.write(rest);
      return;
    }
  }
}
