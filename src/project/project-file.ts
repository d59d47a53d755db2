/**
 * The project file, `smartmeter.yaml`: the settings a user would otherwise repeat on every
 * `smartmeter up` (the three words, the targets, the runtime, the name, …), found by walking up
 * from the working directory. This module finds, reads and checks it; ./apply.ts hands its
 * values to a command, under the flags and the environment.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { CORE_SCHEMA, load, YAMLException } from 'js-yaml';
import { CLUSTER_MODES, LOCATIONS, SECRET_MODES } from '../combine/engine.js';
import { UsageError } from '../errors.js';
import { parseDuration } from '../parsers.js';
import { RUNTIMES } from '../runtime/state.js';
import { hasUrlPassword, isSecretKey } from '../secrets.js';
import { closestMatches } from '../suggest.js';
import { PROJECT_ENV, PROJECT_KEYS, type ProjectKey } from './keys.js';

/**
 * The names looked for in each directory, in this order. `.yml` is accepted as Compose accepts
 * both spellings; both in one directory is refused, as one of them would be ignored unseen.
 */
export const PROJECT_FILE_NAMES = ['smartmeter.yaml', 'smartmeter.yml'] as const;

/** A value of the project file once checked: a word or a path (absolute), or a list of them. */
export type ProjectValue = string | string[];

/** One key of the project file as read: its checked value and the line it is on (1-based). */
export interface ProjectSetting {
  key: string;
  value: ProjectValue;
  line: number;
}

/** A project file read and checked. */
export interface ProjectFile {
  /** Absolute path of the file. */
  file: string;
  /** How it was chosen: named by --project, by SMARTMETER_PROJECT, or found walking up. */
  how: 'flag' | 'env' | 'found';
  /** The settings it holds, by key (kebab-case, as the long flags). */
  settings: Map<string, ProjectSetting>;
}

const KEYS = new Map(PROJECT_KEYS.map((k) => [k.key, k]));

/** The words each `word` key accepts. */
const CHOICES: Readonly<Record<string, readonly string[]>> = {
  location: LOCATIONS,
  'cluster-mode': CLUSTER_MODES,
  'secret-mode': SECRET_MODES,
  runtime: RUNTIMES,
  'publish-mode': ['ingress', 'host'],
};

/**
 * Finds the project file by walking up from `startDir` (absolute) to the filesystem root.
 * Returns the absolute path of the first `smartmeter.yaml` or `smartmeter.yml` met, or
 * undefined when no directory on the way holds one. Throws a UsageError when one directory
 * holds both.
 */
export function findProjectFile(startDir: string): string | undefined {
  let dir = resolve(startDir);
  for (;;) {
    const found = projectFileIn(dir);
    if (found) return found;
    const parent = dirname(dir);
    if (parent === dir) return undefined; // the root: nothing above it
    dir = parent;
  }
}

/** The project file directly in `dir`, if any (both spellings there is an error). */
function projectFileIn(dir: string): string | undefined {
  const present = PROJECT_FILE_NAMES.map((name) => join(dir, name)).filter(isFile);
  if (present.length > 1) throw new UsageError(`${dir} holds both ${PROJECT_FILE_NAMES.join(' and ')}: keep one`);
  return present[0];
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Where the project file comes from, as given to the command. */
export interface ProjectChoice {
  /** `--project <file>` (a string), `--no-project` (false), or neither (undefined). */
  flag?: string | false;
  /** The value of SMARTMETER_PROJECT (empty counts as unset). */
  env?: string;
  /** The working directory: where a relative --project is read from and the walk starts. */
  cwd: string;
}

/**
 * The project file to use: none with --no-project; else the one --project names, else the one
 * SMARTMETER_PROJECT names (each may name a directory holding one), else the first found walking
 * up from `cwd`. Returns its absolute path and how it was chosen, or undefined. Throws a
 * UsageError when a named file does not exist.
 */
export function locateProjectFile(choice: ProjectChoice): { file: string; how: ProjectFile['how'] } | undefined {
  if (choice.flag === false) return undefined;
  const named: [string, ProjectFile['how'], string] | undefined =
    typeof choice.flag === 'string' ? [choice.flag, 'flag', '--project'] : choice.env ? [choice.env, 'env', PROJECT_ENV] : undefined;
  if (!named) {
    const file = findProjectFile(choice.cwd);
    return file ? { file, how: 'found' } : undefined;
  }
  const [given, how, what] = named;
  if (given.trim() === '') throw new UsageError(`${what} needs a file name`);
  const path = resolve(choice.cwd, given);
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new UsageError(`${what}: no such file ${given}`);
  }
  if (!isDir) return { file: path, how };
  const inside = projectFileIn(path);
  if (!inside) throw new UsageError(`${what}: ${given} holds no ${PROJECT_FILE_NAMES.join(' or ')}`);
  return { file: inside, how };
}

/**
 * Reads and checks the project file at `file` (absolute). Errors are UsageErrors of one line
 * starting with `<file>:<line>:`, the file shown as `displayPath` gives it.
 */
export function loadProjectFile(file: string, how: ProjectFile['how'], cwd: string): ProjectFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the project file ${displayPath(file, cwd)} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return { file, how, settings: parseProjectText(text, file, displayPath(file, cwd)) };
}

/**
 * Parses and checks the text of a project file. Relative paths are resolved against the
 * directory of `file`; `shown` is the name used in messages. Returns the settings by key;
 * throws a UsageError `<shown>:<line>: …` for YAML that does not parse, a key it does not know
 * (with the closest known ones), a value of the wrong type or out of range, and any credential.
 */
export function parseProjectText(text: string, file: string, shown: string): Map<string, ProjectSetting> {
  let data: unknown;
  try {
    data = load(text, { schema: CORE_SCHEMA, filename: shown });
  } catch (error) {
    if (error instanceof YAMLException) throw new UsageError(`${shown}:${(error.mark?.line ?? 0) + 1}: not valid YAML: ${error.reason}`);
    throw error;
  }
  const settings = new Map<string, ProjectSetting>();
  if (data === null || data === undefined) return settings; // empty, or only comments
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new UsageError(`${shown}:1: expected settings as \`key: value\` lines, got ${Array.isArray(data) ? 'a list' : `"${String(data)}"`}`);
  }
  const keyAt = locateKeys(text);
  const baseDir = dirname(file);
  for (const [key, raw] of Object.entries(data as Record<string, unknown>)) {
    const found = keyAt(key);
    const line = found?.line ?? 1;
    const at = `${shown}:${line}`;
    if (looksSecret(key)) throw new UsageError(`${at}: "${key}": secrets never go in the project file (it is meant to be shared); use secrets-dir, a --*-file flag or the environment`);
    const spec = KEYS.get(key);
    if (!spec) {
      const close = closestMatches(key, [...KEYS.keys()]);
      throw new UsageError(`${at}: unknown key "${key}" (${close.length ? `did you mean ${close.join(', ')}?` : `the keys are ${[...KEYS.keys()].join(', ')}`})`);
    }
    const itemLine = (index: number) => found?.items[index] ?? line;
    settings.set(key, { key, line, value: checkValue(spec, raw, baseDir, (message, index) => new UsageError(`${index === undefined ? at : `${shown}:${itemLine(index)}`}: ${key}: ${message}`)) });
  }
  return settings;
}

/** A builder of the error for a bad value (`index`: the list item at fault). */
type Fail = (message: string, index?: number) => Error;

/**
 * Checks one value given for `key` (from the project file, or to `smartmeter init`) and returns
 * it normalised: paths resolved against `baseDir`, a string of words split into a list.
 * Throws what `fail` builds, with a message saying what was expected.
 */
export function checkProjectValue(key: string, raw: unknown, baseDir: string, fail: Fail): ProjectValue {
  const spec = KEYS.get(key);
  if (!spec) throw fail(`not a key of the project file`);
  return checkValue(spec, raw, baseDir, fail);
}

function checkValue(spec: ProjectKey, raw: unknown, baseDir: string, fail: Fail): ProjectValue {
  const listKind = spec.kind === 'list' || spec.kind === 'file-list' || spec.kind === 'assignments';
  if (listKind) {
    const items = toList(raw, fail);
    return items.map((item, index) => checkItem(spec, item, baseDir, (message) => fail(message, index)));
  }
  if (raw === null || raw === undefined) throw fail('has no value (remove the line, or give one)');
  if (typeof raw === 'object') throw fail(`expected one value, got ${Array.isArray(raw) ? 'a list' : 'a mapping'}`);
  // A number or true/false where a word is expected is most likely a typo; a name may be digits.
  if (typeof raw !== 'string' && !(spec.kind === 'name' && typeof raw === 'number')) {
    throw fail(spec.kind === 'duration' && typeof raw === 'number' ? `"${raw}" needs a unit (e.g. ${raw}s or ${raw}m)` : `expected text, got ${JSON.stringify(raw)}`);
  }
  const value = String(raw).trim();
  if (value === '') throw fail('is empty');
  if (hasUrlPassword(value)) throw fail('holds a URL with a password: secrets never go in the project file');
  switch (spec.kind) {
    case 'word':
      const choices = CHOICES[spec.key] ?? [];
      if (!choices.includes(value)) {
        const close = closestMatches(value, choices);
        throw fail(`must be ${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}, got "${value}"${close.length ? ` (did you mean ${close[0]}?)` : ''}`);
      }
      return value;
    case 'name':
      if (!spec.pattern!.test(value)) throw fail(`must be ${spec.patternText}, got "${value}"`);
      return value;
    case 'duration':
      try {
        parseDuration(value, spec.key);
      } catch {
        throw fail(`cannot read the duration "${value}" (e.g. 500ms, 10s, 5m, 1h)`);
      }
      return value;
    case 'path':
      return resolve(baseDir, value);
    case 'directory': {
      const path = resolve(baseDir, value);
      if (!existsSync(path)) throw fail(`no such directory ${value} (relative paths start from the project file's directory)`);
      if (!statSync(path).isDirectory()) throw fail(`${value} is not a directory`);
      return path;
    }
    default:
      throw fail('internal: unexpected kind'); // lists are handled above
  }
}

function toList(raw: unknown, fail: Fail): unknown[] {
  if (raw === null || raw === undefined) return [];
  if (Array.isArray(raw)) return raw;
  // `targets: inject cassandra_inject` or `without: grafana,prometheus`: the same as a list.
  if (typeof raw === 'string') return raw.split(/[\s,]+/).filter(Boolean);
  throw fail(`expected a list (e.g. [a, b]), got ${typeof raw === 'object' ? 'a mapping' : JSON.stringify(raw)}`);
}

function checkItem(spec: ProjectKey, item: unknown, baseDir: string, fail: (message: string) => Error): string {
  if (typeof item !== 'string' && typeof item !== 'number') throw fail(`expected text in the list, got ${item === null ? 'an empty item' : typeof item === 'object' ? 'a nested list or mapping' : JSON.stringify(item)}`);
  const value = String(item).trim();
  if (value === '') throw fail('an empty item in the list');
  if (hasUrlPassword(value)) throw fail('holds a URL with a password: secrets never go in the project file');
  switch (spec.kind) {
    case 'list':
      if (/[\s,]/.test(value)) throw fail(`"${value}": one word per item`);
      return value;
    case 'file-list': {
      const path = resolve(baseDir, value);
      if (!isFile(path)) throw fail(`no such file ${value} (relative paths start from the project file's directory)`);
      return path;
    }
    case 'assignments': {
      const eq = value.indexOf('=');
      if (eq <= 0) throw fail(`"${value}" is not KEY=value`);
      if (isSecretKey(value.slice(0, eq))) throw fail(`${value.slice(0, eq)} is a credential: secrets never go in the project file (use secrets-dir or the environment)`);
      return value;
    }
    default:
      throw fail('internal: unexpected kind');
  }
}

/** A key that names a credential (password, nats-token, …): refused whatever else it is. */
function looksSecret(key: string): boolean {
  const name = key.replace(/-/g, '_');
  return isSecretKey(name) || /password|passwd|credential|private_key/i.test(name);
}

/**
 * The line of each top-level key in block style (`key:` at the start of a line), and the lines
 * of the items of a block list under it (`  - item`). js-yaml gives no positions of nodes, and
 * the project file is one flat mapping, so the text is enough. A key not found this way (flow
 * style) is placed on the first line that mentions it.
 */
function locateKeys(text: string): (key: string) => { line: number; items: number[] } | undefined {
  const lines = text.split(/\r?\n/);
  const starts: { key: string; index: number }[] = [];
  lines.forEach((line, index) => {
    const match = /^(?:"([^"]*)"|'([^']*)'|([^\s#'"{[\-?:][^:#]*?|-[^\s:#][^:#]*?))\s*:(?:\s|$)/.exec(line);
    if (match) starts.push({ key: (match[1] ?? match[2] ?? match[3])!, index });
  });
  const blocks = new Map<string, { line: number; items: number[] }>();
  starts.forEach(({ key, index }, n) => {
    const end = starts[n + 1]?.index ?? lines.length;
    const items: number[] = [];
    for (let i = index + 1; i < end; i += 1) if (/^\s*-(\s|$)/.test(lines[i]!)) items.push(i + 1);
    if (!blocks.has(key)) blocks.set(key, { line: index + 1, items });
  });
  return (key) => {
    const block = blocks.get(key);
    if (block) return block;
    const index = lines.findIndex((line) => line.includes(key));
    return index >= 0 ? { line: index + 1, items: [] } : undefined;
  };
}

/** `file` as messages show it: relative to `cwd` when under it, else absolute. */
export function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}
