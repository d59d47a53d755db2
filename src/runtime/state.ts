/**
 * The per-user state directory: what `up` recorded of each stack, so that `status`, `logs`,
 * `down` and `stacks` find it from any working directory.
 *
 * Layout, under the state root (`--state-dir`, else $SMARTMETER_STATE_DIR, else
 * $XDG_STATE_HOME/smartmeter, else ~/.local/state/smartmeter):
 *
 *   stacks/compose/<name>/                   Compose project <name>
 *   stacks/swarm/<name>/                     Swarm stack <name>
 *   stacks/helm/<namespace>/<name>/          Helm release <name> in <namespace>
 *
 * Each stack directory holds stack.json (the record) and what was deployed (the compose file or
 * the Helm values, the stack's configuration files, private copies of secret files). Keyed so
 * that the same name on two runtimes, or in two namespaces, are two stacks. Directories are
 * 0700 and records 0600: the directory is the user's own, and the files beside them may hold
 * credentials.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { RuntimeError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../fs-atomic.js';

export type RuntimeName = 'compose' | 'swarm' | 'helm';
export const RUNTIMES: readonly RuntimeName[] = ['compose', 'swarm', 'helm'];

/** What `up` records of a stack (stack.json). */
export interface StackRecord {
  runtime: RuntimeName;
  name: string;
  /** The deployed file: a compose file, or the Helm values. */
  file: string;
  /** Networks `up` created (removed again by `down`). */
  createdNetworks: string[];
  /** Kubernetes namespace (helm). */
  namespace?: string;
  /** helm: `up` created the namespace, so `down --volumes` removes it. */
  createdNamespace?: boolean;
  /** The compose tool up used, so down uses the same one. */
  composeTool?: string[];
  /** The combine words and targets of the last up (for `stacks`). */
  location?: string;
  clusterMode?: string;
  secretMode?: string;
  targets?: string[];
  /** ISO 8601: the first up, and the last up that deployed. */
  createdAt: string;
  updatedAt?: string;
}

/** The identity of a stack: what keys its directory. */
export interface StackKey {
  runtime: RuntimeName;
  name: string;
  /** helm only (ignored elsewhere). */
  namespace?: string;
}

/**
 * The state root: `explicit` (--state-dir), else $SMARTMETER_STATE_DIR, else
 * $XDG_STATE_HOME/smartmeter (the XDG spec ignores a relative XDG_STATE_HOME), else
 * ~/.local/state/smartmeter. Absolute.
 */
export function stateRoot(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return resolve(explicit);
  if (env.SMARTMETER_STATE_DIR) return resolve(env.SMARTMETER_STATE_DIR);
  const xdg = env.XDG_STATE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'smartmeter');
  return join(env.HOME || homedir(), '.local', 'state', 'smartmeter');
}

/** A stack name Docker accepts as a project name (and the release name on Helm). */
export function checkName(name: string): void {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) throw new UsageError(`--name must be lower-case letters, digits, _ and - (a Docker project name), got "${name}"`);
}

/** A Kubernetes namespace (an RFC 1123 label), which also makes it safe as a directory name. */
export function checkNamespace(namespace: string): void {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) throw new UsageError(`--namespace must be a Kubernetes namespace (lower-case letters, digits and -, at most 63), got "${namespace}"`);
}

/** The stack's directory under the state root (not created). Bad names are usage errors. */
export function stackDir(root: string, key: StackKey): string {
  checkName(key.name);
  if (key.runtime !== 'helm') return join(root, 'stacks', key.runtime, key.name);
  checkNamespace(key.namespace ?? '');
  return join(root, 'stacks', 'helm', key.namespace!, key.name);
}

/** Creates the stack's directory and every directory above it up to the root, each 0700. */
export function makeStackDir(root: string, dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask, and the root may exist from before: said explicitly.
  for (let d = dir; d.startsWith(root); d = resolve(d, '..')) {
    chmodSync(d, 0o700);
    if (d === root) break;
  }
}

export function writeRecord(dir: string, record: StackRecord): void {
  writeFileAtomic(join(dir, 'stack.json'), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}

/** The record of one stack, or undefined when it has none. */
export function readRecord(root: string, key: StackKey): StackRecord | undefined {
  return readRecordFile(join(stackDir(root, key), 'stack.json'));
}

function readRecordFile(file: string): StackRecord | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StackRecord;
  } catch (error) {
    throw new RuntimeError(`${file}: not a stack record (${(error as Error).message})`);
  }
}

/** A record and the directory it lives in. */
export interface RecordedStack {
  record: StackRecord;
  dir: string;
}

/** Every stack recorded under the root, sorted by runtime, namespace and name. */
export function listRecords(root: string): RecordedStack[] {
  const found: RecordedStack[] = [];
  const subdirs = (dir: string) => (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : []);
  for (const runtime of RUNTIMES) {
    const base = join(root, 'stacks', runtime);
    const dirs = runtime === 'helm' ? subdirs(base).flatMap((ns) => subdirs(join(base, ns)).map((name) => join(base, ns, name))) : subdirs(base).map((name) => join(base, name));
    for (const dir of dirs.sort()) {
      const record = readRecordFile(join(dir, 'stack.json'));
      if (record) found.push({ record, dir });
    }
  }
  return found;
}

/**
 * The one recorded stack called `name` (narrowed by runtime and namespace when given). None: a
 * runtime error naming the root and `smartmeter stacks`; several: a usage error listing them.
 */
export function findRecord(root: string, name: string, filter: { runtime?: string; namespace?: string } = {}): RecordedStack {
  checkName(name);
  if (filter.runtime !== undefined && !RUNTIMES.includes(filter.runtime as RuntimeName)) throw new UsageError(`--runtime must be ${RUNTIMES.join(', ')}, got "${filter.runtime}"`);
  const matches = listRecords(root).filter(({ record }) => record.name === name
    && (filter.runtime === undefined || record.runtime === filter.runtime)
    && (filter.namespace === undefined || record.namespace === filter.namespace));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    const narrowed = filter.runtime || filter.namespace ? ` on ${[filter.runtime, filter.namespace && `namespace ${filter.namespace}`].filter(Boolean).join(', ')}` : '';
    // Before the per-user state directory, records lived in ./.smartmeter/<name> of the directory
    // up ran in: such a stack is still found from there, so that it can be taken down.
    const legacy = readRecordFile(join(resolve('.smartmeter'), name, 'stack.json'));
    if (legacy && (filter.runtime === undefined || legacy.runtime === filter.runtime)) return { record: legacy, dir: join(resolve('.smartmeter'), name) };
    throw new RuntimeError(`no stack "${name}"${narrowed} is recorded in ${root} (smartmeter stacks lists them; see --state-dir and --name)`);
  }
  const which = matches.map(({ record }) => describeKey(record)).join(', ');
  throw new UsageError(`${matches.length} stacks are called "${name}": ${which}; say which with --runtime (and --namespace)`);
}

/** "compose", "helm (namespace meters)". */
export function describeKey(key: StackKey): string {
  return key.runtime === 'helm' ? `helm (namespace ${key.namespace})` : key.runtime;
}

/** Removes the stack's directory and the namespace directory above it once empty. */
export function removeStackDir(root: string, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  const parent = resolve(dir, '..');
  if (parent.startsWith(join(root, 'stacks', 'helm') + '/') && existsSync(parent) && readdirSync(parent).length === 0) rmSync(parent, { recursive: true, force: true });
}
