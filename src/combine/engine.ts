/**
 * `combine`: targets → fragments → one compose document. Takes plain values, returns plain
 * values; reading files is the only side effect.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative } from 'node:path';
import { CORE_SCHEMA, intCoreTag, mergeTag } from 'js-yaml';
import { loadYamlDocument as loadYaml } from '../yaml-load.js';
import { UsageError } from '../errors.js';
import { containsCredentials, hasUrlPassword, isSecretKey, maskUrlPasswords } from '../secrets.js';
import { closestMatches } from '../suggest.js';
import { expandTargets, parseHierarchy, type Hierarchy, type Modes } from './hierarchy.js';
import { isMap, mergeFragments, type Yaml, type YamlMap } from './merge.js';
import { describeMissing, renderTexts, scanPlaceholders, type Placeholder } from './placeholders.js';
import {
  PropertyStore,
  describeSource,
  literalDefinition,
  parsePropertiesFile,
  parseSetArguments,
  parseYamlDictionary,
  yamlErrorMessage,
  type PropertySource,
  type ResolvedProperty,
} from './properties.js';

/**
 * Integers as go-yaml (Compose, the Swarm loader) reads them: a leading 0 is octal (`mode: 0400`
 * is 256) and `_` separates digits (`1_000`).
 */
const LEADING_ZERO_OCTAL = /^[-+]?0[0-7_]+$/;
const UNDERSCORED_DECIMAL = /^[-+]?[1-9][0-9]*(_[0-9]+)+$/;
const composeInt = {
  ...intCoreTag,
  resolve: (source: string, isExplicit: boolean, tagName: string) =>
    LEADING_ZERO_OCTAL.test(source) ? Number.parseInt(source.replaceAll('_', ''), 8)
    : UNDERSCORED_DECIMAL.test(source) ? Number(source.replaceAll('_', ''))
    : intCoreTag.resolve(source, isExplicit, tagName),
};

/**
 * How fragments are read: YAML 1.2's core schema (no 1.1 timestamps: a date-like value stays
 * text, as Compose reads it), merge keys (`<<: *anchor`) resolved, and leading-zero octal.
 */
export const COMPOSE_YAML_SCHEMA = CORE_SCHEMA.withTags(composeInt, mergeTag);

export const LOCATIONS = ['local', 'remote'] as const;
export const CLUSTER_MODES = ['single', 'cluster'] as const;
export const SECRET_MODES = ['secrets', 'no_secrets'] as const;

export interface CombineRequest {
  /** The directory holding hierarchy.yml, fragments/ and properties/. */
  templatesDir: string;
  /** The `-p` override directory, if any. */
  propertiesDir?: string;
  modes: Modes;
  targets: string[];
  /** Environment variables: they override every properties file. */
  env: Record<string, string | undefined>;
  /** `--set KEY=value`, highest precedence. */
  sets: string[];
  /** Leave unresolved placeholders in the output instead of failing (the old behaviour). */
  allowMissing: boolean;
  /** Epoch seconds used for `$(date +%s)` (TIME_ROOT). */
  now: number;
  /** Paths in messages are shown relative to this directory. */
  displayRoot: string;
}

export interface ExplainedValue {
  key: string;
  /** The value; a URL's password masked; or a full mask when the value is a credential. */
  shown: string;
  source: string;
  overridden: string[];
  /** The properties it refers to, as `NAME (file:line)`. */
  builtFrom: string[];
  usedAt: string[];
}

export interface CombineResult {
  document: YamlMap;
  fragments: string[];
  /** Every properties file read, lowest precedence first. */
  propertyFiles: string[];
  /** Those of them that came from the -p directory. */
  overrideFiles: string[];
  explanation: ExplainedValue[];
  /** Placeholders left in the output (only with allowMissing). */
  unresolved: string[];
  /** True when a credential (by its key, or a URL's password) was written into the document. */
  containsSecrets: boolean;
  /** Properties used by the output whose value came from the environment (names only), sorted. */
  fromEnvironment: string[];
  /** Harmless but probably unintended: e.g. a --set of a key nothing uses. */
  warnings: string[];
  /** Any property's resolved value, used by a fragment or not (e.g. an image key for the Helm values). */
  property: (key: string) => string | undefined;
}

/**
 * A value is secret if its key says so, if it holds a URL with a password, or if it was built
 * from a secret (e.g. a URL with ${NATS_PASSWORD} in it).
 */
export function isSecretValue(resolved: ResolvedProperty): boolean {
  return isSecretKey(resolved.key) || hasUrlPassword(resolved.value) || resolved.references.some(isSecretValue);
}

/**
 * What --explain shows of a value: the value; a URL's password masked when that hides every
 * credential in it; otherwise a full mask.
 */
function shownValue(resolved: ResolvedProperty): string {
  if (!isSecretValue(resolved)) return resolved.value;
  if (isSecretKey(resolved.key) || !hasUrlPassword(resolved.value)) return '********';
  const masked = maskUrlPasswords(resolved.value);
  const secrets = secretValuesOf(resolved).filter((v) => v.length >= 3);
  return secrets.some((v) => masked.includes(v)) ? '********' : masked;
}

/** The values of the secret-named properties a value was built from, directly or not. */
function secretValuesOf(resolved: ResolvedProperty): string[] {
  return resolved.references.flatMap((r) => [...(isSecretKey(r.key) ? [r.value] : []), ...secretValuesOf(r)]);
}

/** The keys among `resolved` and what it was built from whose value came from the environment. */
function environmentKeys(resolved: ResolvedProperty): string[] {
  return [...(resolved.source.kind === 'env' ? [resolved.key] : []), ...resolved.references.flatMap(environmentKeys)];
}

export function checkModes(modes: Modes): void {
  const check = (value: string, allowed: readonly string[], what: string) => {
    if (!allowed.includes(value)) {
      throw new UsageError(`${what} must be ${allowed.join(' or ')}, got "${value}"`);
    }
  };
  check(modes.location, LOCATIONS, 'location');
  check(modes.clusterMode, CLUSTER_MODES, 'cluster mode');
  check(modes.secretMode, SECRET_MODES, 'secret mode');
}

export function loadHierarchy(templatesDir: string, displayRoot: string): Hierarchy {
  const file = join(templatesDir, 'hierarchy.yml');
  return parseHierarchy(readText(file, displayRoot), display(file, displayRoot));
}

/** The property files of one run, in precedence order (lowest first), as the old templater layered them. */
export function propertyLayerFiles(
  defaultsDir: string,
  overrideDir: string | undefined,
  modes: Modes,
): { file: string; fromOverride: boolean }[] {
  const { location, clusterMode } = modes;
  const names = [
    'configuration.properties',
    'configuration-application.properties',
    `configuration-location-${location}.properties`,
    `configuration-location-${location}-debug.properties`,
    `configuration-mode-${clusterMode}.properties`,
    `configuration-mode-${clusterMode}-debug.properties`,
    'configuration-telegraf.properties',
    'configuration-telegraf-debug.properties',
  ];
  return names.flatMap((name) => [
    { file: join(defaultsDir, name), fromOverride: false },
    ...(overrideDir ? [{ file: join(overrideDir, name), fromOverride: true }] : []),
  ]);
}

function yamlDictionaryFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => /^properties.*\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(dir, name));
}

export function buildPropertyStore(request: CombineRequest): { store: PropertyStore; files: string[]; overrides: string[] } {
  const { templatesDir, propertiesDir, modes, displayRoot } = request;
  if (propertiesDir !== undefined) {
    const shown = display(propertiesDir, displayRoot);
    if (!existsSync(propertiesDir)) throw new UsageError(`properties directory ${shown} does not exist`);
    if (!statSync(propertiesDir).isDirectory()) throw new UsageError(`properties directory ${shown} is not a directory`);
  }
  const defaultsDir = join(templatesDir, 'properties');
  const store = new PropertyStore(request.now);
  const loaded: string[] = [];
  const overrides: string[] = [];
  const note = (file: string, fromOverride: boolean) => {
    loaded.push(display(file, displayRoot));
    if (fromOverride) overrides.push(display(file, displayRoot));
  };
  for (const file of yamlDictionaryFiles(defaultsDir)) {
    store.add(parseYamlDictionary(readText(file, displayRoot), display(file, displayRoot)));
    note(file, false);
  }
  for (const file of propertiesDir ? yamlDictionaryFiles(propertiesDir) : []) {
    store.add(parseYamlDictionary(readText(file, displayRoot), display(file, displayRoot)));
    note(file, true);
  }
  const present = { defaults: listFiles(defaultsDir), override: propertiesDir ? listFiles(propertiesDir) : new Set<string>() };
  for (const { file, fromOverride } of propertyLayerFiles(defaultsDir, propertiesDir, modes)) {
    if (!present[fromOverride ? 'override' : 'defaults'].has(basename(file))) continue;
    store.add(parsePropertiesFile(readText(file, displayRoot), display(file, displayRoot)));
    note(file, fromOverride);
  }
  store.add(
    Object.entries(request.env)
      .filter((entry): entry is [string, string] => entry[1] !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(entry[0]))
      .map(([key, value]) => literalDefinition(key, value, { kind: 'env' })),
  );
  store.add(parseSetArguments(request.sets));
  // The three words of the command line are facts of this run, not settings.
  store.add([
    literalDefinition('LOCATION', modes.location, { kind: 'builtin' }),
    literalDefinition('CLUSTER_MODE', modes.clusterMode, { kind: 'builtin' }),
    literalDefinition('SECRET_MODE', modes.secretMode, { kind: 'builtin' }),
  ]);
  return { store, files: loaded, overrides };
}

export function combine(request: CombineRequest): CombineResult {
  const { templatesDir, modes, displayRoot } = request;
  checkModes(modes);
  if (request.targets.length === 0) throw new UsageError('no targets given (smartmeter combine --list-targets shows them)');
  const hierarchy = loadHierarchy(templatesDir, displayRoot);
  const requests = expandTargets(hierarchy, request.targets, modes);
  const { store, files, overrides } = buildPropertyStore(request);

  const usedAt = new Map<string, string[]>();
  const missing: string[] = [];
  const dialectWarnings: string[] = [];
  let containsSecrets = false;
  const placeholderKeys = new Set<string>();
  const lookup = (key: string) => store.resolve(key)?.value;

  let document: YamlMap = {};
  const origins = new Map<string, string>();
  const merged: string[] = [];
  // One directory listing instead of a stat per fragment (a tenth of a millisecond each, cold).
  const fragmentFiles = listFiles(join(templatesDir, 'fragments'));
  for (const fragment of requests) {
    const file = join(templatesDir, 'fragments', `${fragment.name}.yml`);
    const shown = display(file, displayRoot);
    if (!fragmentFiles.has(`${fragment.name}.yml`)) {
      if (fragment.optional) continue;
      throw new UsageError(`fragment ${fragment.name} (needed by target ${fragment.requestedBy}) is missing: ${shown}`);
    }
    const text = readText(file, displayRoot);
    const found = scanPlaceholders(text);
    for (const p of found) placeholderKeys.add(p.key);
    let data: unknown;
    try {
      data = loadYaml(text, { filename: shown, schema: COMPOSE_YAML_SCHEMA });
    } catch (error) {
      throw new UsageError(yamlErrorMessage(error, shown));
    }
    merged.push(fragment.name);
    if (data === null || data === undefined) continue;
    if (!isMap(data as Yaml)) throw new UsageError(`${shown}: a fragment must be a map (services:, volumes:, …)`);
    dialectWarnings.push(...toOutputDialect(data as YamlMap, text, shown));

    const strings: string[] = [];
    collectStrings(data as Yaml, strings);
    const result = renderTexts(strings, lookup);
    const renderedByText = new Map(strings.map((text, index) => [text, result.texts[index]!]));
    const rendered = mapStrings(data as YamlMap, (text) => renderedByText.get(text) ?? text);
    const missingHere = new Set<Placeholder>(result.missing);
    for (const key of new Set(result.used)) {
      const list = usedAt.get(key) ?? [];
      for (const p of found) if (p.key === key && !list.includes(`${shown}:${p.line}`)) list.push(`${shown}:${p.line}`);
      usedAt.set(key, list);
    }
    for (const placeholder of missingHere) {
      // A placeholder inside another's default (`${A:-${B}}`) is found through the outer one.
      const lines = found.filter((p) => p.raw === placeholder.raw || p.argument?.includes(placeholder.raw));
      for (const at of lines.length ? lines : [{ line: 0 }]) {
        const entry = `${at.line ? `${shown}:${at.line}` : shown}: ${describeMissing(placeholder)}`;
        if (!missing.includes(entry)) missing.push(entry);
      }
    }
    // Credentials written into the file make the file a secret, whatever they resolved to.
    if (found.some((p) => isSecretKey(p.key))) containsSecrets = true;
    document = mergeFragments(document, rendered as YamlMap, shown, origins);
  }

  // A property that was used but refers to a name nobody defines expanded to nothing.
  for (const key of usedAt.keys()) {
    const resolved = store.resolve(key);
    for (const name of resolved?.undefinedRefs ?? []) {
      const entry = `${describeSource(resolved!.source)}: ${key} refers to undefined \${${name}}`;
      if (!missing.includes(entry)) missing.push(entry);
    }
  }
  if (missing.length > 0 && !request.allowMissing) {
    throw new UsageError(
      `${missing.length} unresolved placeholder${missing.length > 1 ? 's' : ''} (define them with -p, the environment or --set; --allow-missing leaves them):\n  ${missing.join('\n  ')}`,
    );
  }

  if (containsCredentials(document)) containsSecrets = true;
  const fromEnvironment = new Set<string>();
  const explanation = [...usedAt.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, at]) => {
      const resolved = store.resolve(key)!;
      if (isSecretValue(resolved)) containsSecrets = true;
      for (const name of environmentKeys(resolved)) fromEnvironment.add(name);
      return {
        key,
        shown: shownValue(resolved),
        source: describeSource(resolved.source),
        overridden: resolved.overridden.map((s: PropertySource) => describeSource(s)),
        builtFrom: resolved.references.map((r) => `${r.key} (${describeSource(r.source)})`),
        usedAt: at,
      };
    });
  return {
    document: canonicalOrder(castKnownTypes(document)),
    fragments: merged,
    propertyFiles: files,
    overrideFiles: overrides,
    explanation,
    unresolved: missing,
    containsSecrets,
    fromEnvironment: [...fromEnvironment].sort(),
    warnings: [...dialectWarnings, ...unusedSets(request.sets, placeholderKeys, store)],
    property: (key) => store.resolve(key)?.value,
  };
}

/**
 * The keys of the output dialect: those the Swarm loader (`docker stack config`, compose file
 * 3.8) accepts, which Compose accepts too; extension keys (`x-…`) everywhere. Anything else, a
 * Compose-only key (`profiles`, `mem_limit`, `pull_policy`, …) or a typo, is refused. The lists
 * are checked against `docker stack config` key by key in test/compose-oracle.test.ts.
 */
export const DIALECT_TOP_LEVEL = new Set(['version', 'services', 'networks', 'volumes', 'secrets', 'configs']);
export const DIALECT_SERVICE = new Set([
  'build', 'cap_add', 'cap_drop', 'cgroup_parent', 'command', 'configs', 'container_name', 'credential_spec', 'depends_on',
  'deploy', 'devices', 'dns', 'dns_search', 'domainname', 'entrypoint', 'env_file', 'environment', 'expose', 'external_links',
  'extra_hosts', 'healthcheck', 'hostname', 'image', 'init', 'ipc', 'isolation', 'labels', 'links', 'logging', 'mac_address',
  'network_mode', 'networks', 'pid', 'ports', 'privileged', 'read_only', 'restart', 'secrets', 'security_opt', 'shm_size',
  'stdin_open', 'stop_grace_period', 'stop_signal', 'sysctls', 'tmpfs', 'tty', 'ulimits', 'user', 'userns_mode', 'volumes',
  'working_dir',
]);

/**
 * Brings a parsed fragment into the output dialect, the one both Compose and the Swarm loader
 * accept (README: combine): `depends_on` in its long form becomes the short list (a condition
 * other than service_started is dropped, with a warning); a key outside the dialect is refused,
 * naming the file and line. Returns the warnings.
 */
function toOutputDialect(fragment: YamlMap, text: string, shown: string): string[] {
  const warnings: string[] = [];
  const at = (key: string, from = 0) => `${shown}:${lineOf(text, key, from)}`;
  for (const key of Object.keys(fragment)) {
    if (!DIALECT_TOP_LEVEL.has(key) && !key.startsWith('x-')) throw new UsageError(`${at(key)}: top-level ${key}: is not in the output dialect (docker stack deploy refuses it)`);
  }
  const services = fragment.services;
  if (!isMap(services)) return warnings;
  for (const [name, service] of Object.entries(services)) {
    if (!isMap(service)) continue;
    // Looked up only for a message: a split and a scan of the text per service cost a tenth of combine.
    const serviceLine = () => lineOf(text, name);
    for (const key of Object.keys(service)) {
      if (!DIALECT_SERVICE.has(key) && !key.startsWith('x-') && key !== '<<') {
        throw new UsageError(`${at(key, serviceLine())}: services.${name}.${key} is not in the output dialect (docker stack deploy refuses it)`);
      }
    }
    const dependsOn = service.depends_on;
    if (isMap(dependsOn)) {
      const dropped = Object.entries(dependsOn)
        .filter(([, how]) => isMap(how) && ((how.condition !== undefined && how.condition !== 'service_started') || how.restart !== undefined || how.required === false))
        .map(([dependency, how]) => `${dependency}: ${isMap(how) ? JSON.stringify(how) : how}`);
      service.depends_on = Object.keys(dependsOn);
      if (dropped.length) {
        warnings.push(`${at('depends_on', serviceLine())}: services.${name}.depends_on written in its short form (the Swarm loader takes no other); dropped ${dropped.join(', ')}`);
      }
    }
  }
  return warnings;
}

/** The 1-based line of the first `key:` at or after line `from` (1 when not found). */
function lineOf(text: string, key: string, from = 0): number {
  const lines = text.split('\n');
  const pattern = new RegExp(`^\\s*(-\\s+)?["']?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*:`);
  for (let i = Math.max(0, from - 1); i < lines.length; i++) if (pattern.test(lines[i]!)) return i + 1;
  return from || 1;
}

/** `--set` keys that no fragment of this run uses and no properties file defines: likely typos. */
function unusedSets(sets: string[], placeholderKeys: Set<string>, store: PropertyStore): string[] {
  const known = [...new Set([...placeholderKeys, ...store.keys().filter((k) => store.definedInFile(k))])];
  return parseSetArguments(sets)
    .map((d) => d.key)
    .filter((key) => !placeholderKeys.has(key) && !store.definedInFile(key))
    .map((key) => {
      const hints = closestMatches(key, known);
      return `--set ${key}: no template uses ${key}${hints.length ? `; did you mean ${hints.join(', ')}?` : ''}`;
    });
}

/** Every string of a parsed fragment, map keys included. */
function collectStrings(value: Yaml, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((item) => collectStrings(item, out));
  else if (isMap(value)) {
    for (const [key, item] of Object.entries(value)) {
      out.push(key);
      collectStrings(item, out);
    }
  }
}

/** A copy of `value` with every string (map keys included) passed through `map`. */
function mapStrings(value: Yaml, map: (text: string) => string): Yaml {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, map));
  if (isMap(value)) {
    const out: YamlMap = {};
    for (const [key, item] of Object.entries(value)) out[map(key)] = mapStrings(item, map);
    return out;
  }
  return value;
}

/** Fields of a service that Compose's schema types as integers (`[]`: any item of a list; `*`: any key). */
const INTEGER_FIELDS = [
  'deploy.replicas',
  'deploy.update_config.parallelism',
  'deploy.rollback_config.parallelism',
  'deploy.restart_policy.max_attempts',
  'deploy.placement.max_replicas_per_node',
  'deploy.resources.limits.pids',
  'healthcheck.retries',
  'ports.[].target',
  'ports.[].published',
  'ulimits.*',
  'ulimits.*.soft',
  'ulimits.*.hard',
].map(fieldPattern);
/** Fields typed as numbers that may have a fraction. */
const NUMBER_FIELDS = ['deploy.update_config.max_failure_ratio', 'deploy.rollback_config.max_failure_ratio'].map(fieldPattern);
/** File modes: integers; text is octal, as Compose reads it (`mode: ${BITS}` with BITS=0400 or 400 is 256). */
const MODE_FIELDS = ['secrets.[].mode', 'configs.[].mode'].map(fieldPattern);
const BOOLEAN_FIELDS = [
  'tty', 'stdin_open', 'privileged', 'read_only', 'init', 'healthcheck.disable',
  'volumes.[].read_only', 'volumes.[].volume.nocopy', 'volumes.[].bind.create_host_path',
].map(fieldPattern);
const TOP_LEVEL_BOOLEANS = ['external', 'attachable', 'internal', 'enable_ipv6'];

/** `a.*.b` → a pattern over a field path joined with dots (`*` one key, `[]` a list item). */
function fieldPattern(field: string): RegExp {
  return new RegExp(`^${field.split('.').map((part) => (part === '*' ? '[^.]+' : part.replace(/[[\]]/g, '\\$&'))).join('\\.')}$`);
}

const matches = (patterns: RegExp[], field: string) => patterns.some((pattern) => pattern.test(field));

/**
 * A placeholder always renders to text; where Compose's schema wants a number or a boolean,
 * text that reads as one is turned into one (Compose itself does the same when it
 * interpolates), so `published: ${WEB_PORT}` and `mode: ${BITS}` reach the Swarm loader typed.
 */
function castKnownTypes(document: YamlMap): YamlMap {
  const services = document.services;
  if (isMap(services)) {
    for (const service of Object.values(services)) {
      if (!isMap(service)) continue;
      castAt(service, [], (path, value) => {
        const field = path.join('.');
        if (matches(INTEGER_FIELDS, field) && /^-?\d+$/.test(value)) return Number(value);
        if (matches(NUMBER_FIELDS, field) && /^\d+(\.\d+)?$/.test(value)) return Number(value);
        // Compose reads a file mode given as text (what interpolation yields) in octal.
        if (matches(MODE_FIELDS, field) && /^[0-7]+$/.test(value)) return Number.parseInt(value, 8);
        if (matches(BOOLEAN_FIELDS, field) && /^(true|false)$/.test(value)) return value === 'true';
        return value;
      });
    }
  }
  if (isMap(services)) {
    for (const [name, service] of Object.entries(services)) if (isMap(service) && Array.isArray(service.ports)) service.ports = service.ports.map((port) => portInDialect(port, name));
  }
  for (const section of ['networks', 'volumes', 'secrets', 'configs']) {
    const entries = document[section];
    if (!isMap(entries)) continue;
    for (const entry of Object.values(entries)) {
      if (!isMap(entry)) continue;
      for (const key of TOP_LEVEL_BOOLEANS) {
        const value = entry[key];
        if (typeof value === 'string' && /^(true|false)$/.test(value)) entry[key] = value === 'true';
      }
    }
  }
  return document;
}

/**
 * The Swarm loader's long port syntax has no host_ip: such a port is written in the short
 * syntax, which has (`127.0.0.1:9000:90/udp`); the same port for Compose.
 */
function portInDialect(port: Yaml, service: string): Yaml {
  if (!isMap(port) || port.host_ip === undefined || port.host_ip === null || port.target === undefined) return port;
  const longOnly = Object.keys(port).filter((key) => !['target', 'published', 'host_ip', 'protocol'].includes(key) && !(key === 'mode' && port.mode === 'ingress'));
  if (longOnly.length) {
    throw new UsageError(`services.${service}.ports: ${JSON.stringify(port)}: the Swarm loader's long syntax has no host_ip and the short syntax no ${longOnly.join(', ')}; drop one or the other`);
  }
  const host = String(port.host_ip).includes(':') ? `[${port.host_ip}]` : String(port.host_ip);
  const protocol = port.protocol === undefined || port.protocol === null ? '' : `/${port.protocol}`;
  return `${host}:${port.published === undefined || port.published === null ? '' : port.published}:${port.target}${protocol}`;
}

/** Calls `cast` on every string under `value`, with its path (`[]` standing for a list index). */
function castAt(value: YamlMap | Yaml[], path: string[], cast: (path: string[], value: string) => Yaml): void {
  const entries: [string | number, Yaml][] = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
  for (const [key, item] of entries) {
    const here = [...path, typeof key === 'number' ? '[]' : key];
    const set = (next: Yaml) => ((value as Record<string | number, Yaml>)[key] = next);
    if (typeof item === 'string') set(cast(here, item));
    else if (isMap(item) || Array.isArray(item)) castAt(item, here, cast);
  }
}

const TOP_LEVEL_ORDER = ['version', 'services', 'networks', 'volumes', 'secrets', 'configs'];

/** Top-level keys in the usual order, services sorted by name, so output diffs well. */
function canonicalOrder(document: YamlMap): YamlMap {
  const out: YamlMap = {};
  const keys = [...TOP_LEVEL_ORDER.filter((k) => k in document), ...Object.keys(document).filter((k) => !TOP_LEVEL_ORDER.includes(k)).sort()];
  for (const key of keys) {
    const value = document[key]!;
    out[key] = isMap(value) && key !== 'version' ? sortKeys(value) : value;
  }
  return out;
}

function sortKeys(map: YamlMap): YamlMap {
  return Object.fromEntries(Object.keys(map).sort().map((k) => [k, map[k]!]));
}

/** The names of the entries in `dir`; empty when it cannot be read (a missing fragment is then named). */
function listFiles(dir: string): Set<string> {
  try {
    return new Set(readdirSync(dir));
  } catch {
    return new Set();
  }
}

function readText(file: string, displayRoot: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${display(file, displayRoot)}: ${code === 'ENOENT' ? 'no such file' : code}`);
  }
}

export function display(file: string, root: string): string {
  const rel = relative(root, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}
