/** Reading numbers, durations and secret files given on the command line or in the environment, with one clear message each. */
import { readFileSync } from 'node:fs';
import { UsageError } from './errors.js';

export function positiveInteger(value: string, what: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n <= 0) throw new UsageError(`${what} must be a positive whole number, got "${value}"`);
  return n;
}

export function nonNegativeInteger(value: string, what: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`${what} must be a whole number ≥ 0, got "${value}"`);
  return n;
}

/** A unit a plain number (no unit written) is read in, for options that took plain numbers before units. */
export type PlainUnit = 'ms' | 's' | 'm';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * The one reader of every time value (flags, their environment variables, the project file):
 * `500ms`, `10s`, `1.5m`, `1h` → milliseconds (> 0). A plain number (`120`) is accepted only when
 * `plainUnit` says what it counts (the options that took seconds or milliseconds before units,
 * so old scripts keep working). Throws a UsageError naming `what` otherwise.
 */
export function parseDuration(text: string, what: string, plainUnit?: PlainUnit): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const unit = match?.[2] ?? plainUnit;
  if (!match || unit === undefined || Number(match[1]) <= 0) {
    const plain = plainUnit ? `, or a plain number of ${PLAIN_UNIT_NAMES[plainUnit]}` : '';
    throw new UsageError(`${what}: cannot read the duration "${text}" (e.g. 500ms, 10s, 5m, 1h${plain})`);
  }
  return Number(match[1]) * UNIT_MS[unit as keyof typeof UNIT_MS];
}

const PLAIN_UNIT_NAMES: Record<PlainUnit, string> = { ms: 'milliseconds', s: 'seconds', m: 'minutes' };

/** Reads a secret from a file, without its final newline; the message names the file only. */
export function readSecretFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch {
    throw new UsageError(`cannot read the ${what} file ${file}`);
  }
}

/**
 * A client certificate goes with its key (--tls-cert, --tls-key): one of the two alone is
 * refused, as it would otherwise be dropped without a word or the other one missed. Throws a
 * UsageError naming both flags.
 */
export function checkTlsPair(cert: string | undefined, key: string | undefined): void {
  if (!cert === !key) return;
  const [given, missing] = cert ? ['--tls-cert', '--tls-key'] : ['--tls-key', '--tls-cert'];
  throw new UsageError(`--tls-cert and --tls-key go together (a client certificate and its key): ${given} was given without ${missing}`);
}
