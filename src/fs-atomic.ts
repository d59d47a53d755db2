import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { RuntimeError } from './errors.js';

export interface AtomicWriteOptions {
  /** File mode of the result, e.g. 0o600 for anything that may hold a secret. */
  mode?: number;
}

/**
 * Writes `content` to `path` so that readers see either the old file or the whole new
 * one: the text goes to a temporary file in the same directory, then is renamed over.
 */
export function writeFileAtomic(path: string, content: string, options: AtomicWriteOptions = {}): void {
  if (path.endsWith('/') || isDirectory(path)) throw new RuntimeError(`cannot write ${path}: it is a directory`);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, content, { mode: options.mode ?? 0o644, flag: 'wx' });
    renameSync(tmp, path);
  } catch (error) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // nothing was created
    }
    const reason = error instanceof Error && 'code' in error ? String((error as NodeJS.ErrnoException).code) : String(error);
    throw new RuntimeError(`cannot write ${path}: ${describeErrno(reason)}`);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // missing, or a parent is not a directory: the write below says which
  }
}

const ERRNO_TEXT: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such directory',
  ENOTDIR: 'a parent is not a directory',
  EISDIR: 'it is a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EEXIST: 'a temporary file is in the way',
};

export function describeErrno(code: string): string {
  return ERRNO_TEXT[code] ?? code;
}
