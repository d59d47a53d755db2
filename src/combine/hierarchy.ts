/**
 * The services hierarchy: named targets that expand to compose fragment names and to
 * other targets. It is data (`templates/compose/hierarchy.yml`):
 *
 *   targets:
 *     inject: [inject, inject-${SECRET_MODE}, inject-${CLUSTER_MODE}, $root]
 *
 * `$name` includes another target; `${LOCATION}`, `${CLUSTER_MODE}` and `${SECRET_MODE}`
 * are filled from the command line; a trailing `?` marks a fragment that may not exist for
 * every mode. As in the old templater, the result is sorted (byte order) and de-duplicated,
 * and that order is the merge order: a later fragment wins.
 */
import { loadYamlDocument as loadYaml } from '../yaml-load.js';
import { UsageError } from '../errors.js';
import { closestMatches } from '../suggest.js';
import { yamlErrorMessage } from './properties.js';

export interface Modes {
  location: string;
  clusterMode: string;
  secretMode: string;
}

export interface Hierarchy {
  file: string;
  targets: Map<string, HierarchyEntry[]>;
  /** Line of each target's definition, for messages. */
  lines: Map<string, number>;
}

export type HierarchyEntry = { kind: 'target'; name: string } | { kind: 'fragment'; pattern: string; optional: boolean };

export interface FragmentRequest {
  name: string;
  optional: boolean;
  /** The first target (as typed by the user) whose expansion asked for this fragment. */
  requestedBy: string;
}

const TARGET_NAME = /^[A-Za-z0-9_-]+$/;
const FRAGMENT_PATTERN = /^[A-Za-z0-9_${}-]+$/;

export function parseHierarchy(text: string, file: string): Hierarchy {
  let data: unknown;
  try {
    data = loadYaml(text, { filename: file });
  } catch (error) {
    throw new UsageError(yamlErrorMessage(error, file));
  }
  // The line of each indented `name:`, in one pass (the first one wins, as YAML reports duplicates itself).
  const targetLines = new Map<string, number>();
  text.split('\n').forEach((l, i) => {
    const name = /^\s+([^\s:]+)\s*:/.exec(l)?.[1];
    if (name !== undefined && !targetLines.has(name)) targetLines.set(name, i + 1);
  });
  const lineOf = (name: string) => targetLines.get(name) ?? 0;
  const raw = (data as { targets?: unknown } | null)?.targets;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UsageError(`${file}: expected a top-level "targets:" map`);
  }
  const targets = new Map<string, HierarchyEntry[]>();
  const lineMap = new Map<string, number>();
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const line = lineOf(name);
    lineMap.set(name, line);
    if (!TARGET_NAME.test(name)) throw new UsageError(`${file}:${line}: bad target name "${name}"`);
    if (!Array.isArray(value)) throw new UsageError(`${file}:${line}: target ${name} must be a list`);
    targets.set(
      name,
      value.map((item): HierarchyEntry => {
        if (typeof item !== 'string') throw new UsageError(`${file}:${line}: target ${name} has a non-text entry`);
        if (item.startsWith('$') && !item.startsWith('${')) return { kind: 'target', name: item.slice(1) };
        const optional = item.endsWith('?');
        const pattern = optional ? item.slice(0, -1) : item;
        if (!FRAGMENT_PATTERN.test(pattern)) throw new UsageError(`${file}:${line}: bad fragment name "${item}" in ${name}`);
        return { kind: 'fragment', pattern, optional };
      }),
    );
  }
  const hierarchy = { file, targets, lines: lineMap };
  checkReferences(hierarchy);
  return hierarchy;
}

/** Every `$name` must be a target, and no target may include itself through others. */
function checkReferences(hierarchy: Hierarchy): void {
  for (const [name, entries] of hierarchy.targets) {
    for (const entry of entries) {
      if (entry.kind === 'target' && !hierarchy.targets.has(entry.name)) {
        throw new UsageError(
          `${hierarchy.file}:${hierarchy.lines.get(name)}: target ${name} includes unknown target $${entry.name}`,
        );
      }
    }
  }
  const done = new Set<string>();
  const visit = (name: string, path: string[]) => {
    if (path.includes(name)) {
      const cycle = [...path.slice(path.indexOf(name)), name];
      throw new UsageError(`${hierarchy.file}:${hierarchy.lines.get(name)}: targets include each other in a cycle: ${cycle.join(' → ')}`);
    }
    if (done.has(name)) return;
    for (const entry of hierarchy.targets.get(name) ?? []) {
      if (entry.kind === 'target') visit(entry.name, [...path, name]);
    }
    done.add(name);
  };
  for (const name of hierarchy.targets.keys()) visit(name, []);
}

/**
 * Expands the targets the user typed into the sorted, de-duplicated list of fragments.
 * An unknown target is an error that suggests the closest names.
 */
export function expandTargets(hierarchy: Hierarchy, requested: readonly string[], modes: Modes): FragmentRequest[] {
  const found = new Map<string, FragmentRequest>();
  for (const target of requested) {
    if (!hierarchy.targets.has(target)) {
      const hints = closestMatches(target, [...hierarchy.targets.keys()]);
      const hint = hints.length ? `; did you mean ${hints.join(', ')}?` : '';
      throw new UsageError(`unknown target "${target}"${hint} (smartmeter combine --list-targets shows all)`);
    }
    const walk = (name: string) => {
      for (const entry of hierarchy.targets.get(name)!) {
        if (entry.kind === 'target') {
          walk(entry.name);
          continue;
        }
        const fragment = fillModes(entry.pattern, modes);
        const previous = found.get(fragment);
        // A fragment is optional only if every target that asks for it says so.
        if (!previous) found.set(fragment, { name: fragment, optional: entry.optional, requestedBy: target });
        else if (!entry.optional) previous.optional = false;
      }
    };
    walk(target);
  }
  return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function fillModes(pattern: string, modes: Modes): string {
  return pattern
    .replaceAll('${LOCATION}', modes.location)
    .replaceAll('${CLUSTER_MODE}', modes.clusterMode)
    .replaceAll('${SECRET_MODE}', modes.secretMode);
}
