/**
 * The two kinds of failure a user can cause or meet. Both carry a message meant for
 * one line on stderr; the entry point maps them to exit codes and prints no stack trace
 * unless --debug is given.
 */

/** Bad input: a wrong argument, a missing or malformed file. Exit code 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  override name = 'UsageError';
}

/** The input was fine but doing the work failed (I/O, a server, a tool). Exit code 1. */
export class RuntimeError extends Error {
  readonly exitCode = 1;
  override name = 'RuntimeError';
}

/** A location in a file, for messages such as `alt_properties/x.properties:12: ...`. */
export interface SourceLocation {
  file: string;
  line: number;
}

export function formatLocation(loc: SourceLocation): string {
  return loc.line > 0 ? `${loc.file}:${loc.line}` : loc.file;
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError || error instanceof RuntimeError) return error.exitCode;
  return 1;
}
