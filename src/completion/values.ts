/**
 * Candidates that come from the project's data rather than from the command definitions:
 * the three mode words, the targets of the compose hierarchy, and service names (of the
 * recorded stack, of the targets on the line, or of every compose fragment).
 * Nothing here throws or prints: a file that cannot be read gives no candidates.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandTargets, parseHierarchy, type Hierarchy } from '../combine/hierarchy.js';
import { COMPOSE_TEMPLATES_DIR } from '../paths.js';
import { findRecord, listRecords, stateRoot } from '../runtime/state.js';

/** One candidate: the word, and a few words saying what it is (shown by zsh and fish). */
export interface Candidate {
  value: string;
  description?: string;
}

/** What the words typed so far say, for providers that depend on them. */
export interface LineContext {
  /** The command path, without the program: `['up']`, `['cassandra', 'init']`. */
  path: string[];
  /** Positional values by argument name (`location`, `targets` as a list). */
  args: Record<string, string | string[]>;
  /** Option values given on the line, by attribute name; else the option's default. */
  options: Record<string, unknown>;
}

/** A source of candidates for an argument or an option value; `list` values are comma-separated. */
export interface Provider {
  candidates(context: LineContext): Candidate[] | Promise<Candidate[]>;
  list?: boolean;
}

const words = (values: readonly string[]): Candidate[] => values.map((value) => ({ value }));
/**
 * The mode words, from the combine engine. Imported when asked for only: the engine brings the
 * template runtime, which the other completions do not need.
 */
const modes = async () => {
  const { LOCATIONS, CLUSTER_MODES, SECRET_MODES } = await import('../combine/engine.js');
  return { location: LOCATIONS, clusterMode: CLUSTER_MODES, secretMode: SECRET_MODES };
};

/**
 * Providers by argument name or option attribute name. A name not here completes from the
 * definition alone (choices, or files and directories by its value's placeholder).
 */
export const PROVIDERS: Record<string, Provider> = {
  location: { candidates: async () => words((await modes()).location) },
  'cluster-mode': { candidates: async () => words((await modes()).clusterMode) },
  'secret-mode': { candidates: async () => words((await modes()).secretMode) },
  targets: { candidates: targetCandidates },
  service: { candidates: (context) => words(serviceNames(context, false)) },
  without: { candidates: (context) => words(serviceNames(context, true)), list: true },
  // --name of down, status, logs: the stacks recorded in --state-dir
  name: { candidates: recordedStacks },
  // cassandra init --mode
  mode: { candidates: async () => words((await modes()).clusterMode) },
  publishMode: { candidates: () => words(['ingress', 'host']) },
  // metrics check --command inject,ingest,cassandra
  command: { candidates: () => words(['inject', 'ingest', 'cassandra']), list: true },
};

function templatesDir(context: LineContext): string {
  const given = context.options.templates;
  return typeof given === 'string' && given ? given : COMPOSE_TEMPLATES_DIR;
}

function loadHierarchy(dir: string): Hierarchy {
  const file = join(dir, 'hierarchy.yml');
  return parseHierarchy(readFileSync(file, 'utf8'), file);
}

/** The targets of the hierarchy not yet on the line, each described by what it expands to. */
function targetCandidates(context: LineContext): Candidate[] {
  const hierarchy = loadHierarchy(templatesDir(context));
  const typed = new Set(listOf(context.args.targets));
  return [...hierarchy.targets]
    .filter(([name]) => !typed.has(name))
    .map(([name, entries]) => ({
      value: name,
      // What it expands to, the mode-dependent names shortened: `inject inject-* inject-*-* $root`.
      description: [...new Set(entries.map((e) => (e.kind === 'target' ? `$${e.name}` : e.pattern.replace(/\$\{[A-Z_]+\}/g, '*'))))].join(' '),
    }));
}

function listOf(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/**
 * Service names for `logs <service>` and `up --without`: those of the targets on the line (when
 * `fromTargets` and the three modes and a target are typed), else of the stack `up` recorded
 * (its deployed compose file), else of every compose fragment.
 */
function serviceNames(context: LineContext, fromTargets: boolean): string[] {
  const attempts = [
    () => (fromTargets ? servicesOfTargets(context) : []),
    () => servicesOfRecord(context),
    () => servicesOfFragments(templatesDir(context)),
  ];
  for (const attempt of attempts) {
    try {
      const found = attempt();
      if (found.length) return [...new Set(found)].sort();
    } catch {
      // Completion must stay quiet: a broken file only means fewer candidates.
    }
  }
  return [];
}

function servicesOfTargets(context: LineContext): string[] {
  const [location, clusterMode, secretMode] = [context.args.location, context.args['cluster-mode'], context.args['secret-mode']];
  if (typeof location !== 'string' || typeof clusterMode !== 'string' || typeof secretMode !== 'string') return [];
  const dir = templatesDir(context);
  const hierarchy = loadHierarchy(dir);
  const targets = listOf(context.args.targets).filter((t) => hierarchy.targets.has(t));
  if (!targets.length) return [];
  return expandTargets(hierarchy, targets, { location, clusterMode, secretMode }).flatMap((fragment) => {
    const file = join(dir, 'fragments', `${fragment.name}.yml`);
    return existsSync(file) ? serviceKeys(readFileSync(file, 'utf8')) : [];
  });
}

/** The state root the line names (--state-dir), else the default one (SMARTMETER_STATE_DIR, XDG). */
function rootOf(context: LineContext): string {
  const { stateDir } = context.options;
  return stateRoot(typeof stateDir === 'string' ? stateDir : undefined);
}

function recordedStacks(context: LineContext): Candidate[] {
  try {
    const names = new Map<string, string>();
    for (const { record } of listRecords(rootOf(context))) names.set(record.name, [names.get(record.name), record.runtime].filter(Boolean).join(', '));
    return [...names].map(([value, runtimes]) => ({ value, description: `recorded stack (${runtimes})` }));
  } catch {
    return [];
  }
}

/** The services of the stack the line names (--name, --runtime, --namespace), from its deployed compose file. */
function servicesOfRecord(context: LineContext): string[] {
  const { name, runtime, namespace } = context.options;
  try {
    const { record } = findRecord(rootOf(context), typeof name === 'string' ? name : 'smartmeter', {
      runtime: typeof runtime === 'string' ? runtime : undefined,
      namespace: typeof namespace === 'string' ? namespace : undefined,
    });
    // A Helm stack records its values file, which lists no services: the caller falls back.
    return record.runtime === 'helm' ? [] : serviceKeys(readFileSync(record.file, 'utf8'));
  } catch {
    return [];
  }
}

function servicesOfFragments(dir: string): string[] {
  const fragments = join(dir, 'fragments');
  return readdirSync(fragments)
    .filter((f) => f.endsWith('.yml'))
    .flatMap((f) => serviceKeys(readFileSync(join(fragments, f), 'utf8')));
}

/**
 * The keys of the top-level `services:` map of a compose file, read line by line: fragments
 * hold placeholders that are not always YAML yet, and a scan is faster than a parse.
 */
export function serviceKeys(text: string): string[] {
  const keys: string[] = [];
  let inServices = false;
  let indent: number | undefined;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line) && !line.startsWith('#')) {
      inServices = /^services\s*:/.test(line);
      indent = undefined;
      continue;
    }
    if (!inServices) continue;
    const key = /^(\s+)(["']?)([A-Za-z0-9_.-]+)\2\s*:/.exec(line);
    if (!key) continue;
    indent ??= key[1]!.length;
    if (key[1]!.length === indent) keys.push(key[3]!);
  }
  return keys;
}
