/**
 * Merging compose fragments. The old templater concatenated every list, so two targets that
 * both define a service doubled its environment, ports and constraints. These rules follow
 * what `docker compose -f a.yml -f b.yml` does instead (later fragment = later file):
 *
 *   maps                                   deep merge, key by key
 *   scalars                                the later fragment wins
 *   environment, labels, annotations,      merged by name; later wins; written as KEY=value lists
 *     sysctls, build.args (list or map)
 *   ports                                  merged by (host ip, target, published, protocol), short and
 *                                          long syntax alike (the Compose specification's key); later wins
 *   volumes (of a service)                 merged by container path, short and long syntax; later wins
 *   secrets, configs (of a service)        merged by the path they are mounted at (a secret's default:
 *                                          /run/secrets/<source>, a config's: /<source>), short and long
 *                                          syntax, as Compose keys them; later wins
 *   dns, dns_search, tmpfs, env_file       one value or a list: union (a single value is a list of one)
 *   extra_hosts (list or map form)         union of `host:ip` entries (a host may have several addresses)
 *   command, entrypoint, healthcheck.test, replaced as a whole (they are one value)
 *     each ulimit
 *   every other list (depends_on,          union: items in first-seen order, exact duplicates dropped
 *     networks, placement constraints, …)
 *   a map meeting a non-map               error naming both fragments and the path
 */
import { UsageError } from '../errors.js';

export type Yaml = null | boolean | number | string | Yaml[] | { [key: string]: Yaml };
export type YamlMap = { [key: string]: Yaml };

type ListRule = 'replace' | 'byName' | 'byTarget' | 'bySecretTarget' | 'byConfigTarget' | 'byPort' | 'union';

/** Which rule applies to a list at `path` (keys from the document root). */
function listRule(path: readonly string[]): ListRule {
  if (path[0] !== 'services' || path.length < 3) return 'union';
  const field = path.slice(2).join('.');
  switch (field) {
    case 'command':
    case 'entrypoint':
    case 'healthcheck.test':
      return 'replace';
    case 'environment':
    case 'labels':
    case 'deploy.labels':
    case 'annotations':
    case 'sysctls':
    case 'build.args':
    case 'build.labels':
      return 'byName';
    case 'ports':
      return 'byPort';
    case 'volumes':
      return 'byTarget';
    case 'secrets':
      return 'bySecretTarget';
    case 'configs':
      return 'byConfigTarget';
    default:
      return 'union';
  }
}

export function isMap(value: Yaml | undefined): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Merges `next` (from `nextName`) into `base` (built from `baseName`); returns a new value. */
export function mergeFragments(base: YamlMap, next: YamlMap, nextName: string, origins: Map<string, string> = new Map()): YamlMap {
  return mergeMaps(base, next, [], nextName, origins);
}

function mergeMaps(base: YamlMap, next: YamlMap, path: string[], nextName: string, origins: Map<string, string>): YamlMap {
  const out: YamlMap = { ...base };
  for (const [key, value] of Object.entries(next)) {
    const childPath = [...path, key];
    out[key] = mergeValues(base[key], value, childPath, nextName, origins);
    recordOrigin(origins, childPath, nextName, value);
  }
  return out;
}

/** Remembers which fragment first set each path (and every path below it), for messages. */
function recordOrigin(origins: Map<string, string>, path: string[], fragment: string, value?: Yaml): void {
  const key = path.join('.');
  if (!origins.has(key)) origins.set(key, fragment);
  if (isMap(value)) for (const [child, item] of Object.entries(value)) recordOrigin(origins, [...path, child], fragment, item);
}

function mergeValues(base: Yaml | undefined, next: Yaml, path: string[], nextName: string, origins: Map<string, string>): Yaml {
  if (base === undefined || base === null) return normalizeNew(next, path);
  if (next === null) return base; // an empty key (`volumes:`) adds nothing
  const rule = listRule(path);
  if (rule === 'byName' && (isMap(base) || Array.isArray(base)) && (isMap(next) || Array.isArray(next))) {
    return toNameList({ ...toNameMap(base, path), ...toNameMap(next, path) });
  }
  if (ONE_OR_MANY.has(field(path)) && (Array.isArray(base) || Array.isArray(next))) {
    return union(asList(base), asList(next));
  }
  if (field(path) === 'extra_hosts') return union(hostList(base), hostList(next));
  // A ulimit is one value, a number or {soft, hard}: the later replaces it whole.
  if (/^ulimits\.[^.]+$/.test(field(path))) return next;
  if (isMap(base) && isMap(next)) return mergeMaps(base, next, path, nextName, origins);
  if (isMap(base) !== isMap(next)) {
    const firstFrom = origins.get(path.join('.')) ?? 'an earlier fragment';
    throw new UsageError(
      `cannot merge ${path.join('.')}: ${firstFrom} makes it ${describe(base)}, ${nextName} makes it ${describe(next)}`,
    );
  }
  if (Array.isArray(base) && Array.isArray(next)) {
    switch (rule) {
      case 'replace':
        return next;
      case 'byTarget':
        return mergeKeyed(base, next, volumeTarget);
      case 'bySecretTarget':
        return mergeKeyed(base, next, mountTarget('/run/secrets/'));
      case 'byConfigTarget':
        return mergeKeyed(base, next, mountTarget('/'));
      case 'byPort':
        return mergeKeyed(base, next, portKey);
      default:
        return union(base, next);
    }
  }
  return next;
}

/** A value seen for the first time still gets its canonical shape, all the way down. */
function normalizeNew(value: Yaml, path: string[]): Yaml {
  if (field(path) === 'extra_hosts') return union([], hostList(value));
  const rule = listRule(path);
  if (rule === 'byName' && (isMap(value) || Array.isArray(value))) return toNameList(toNameMap(value, path));
  if (isMap(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, item === null ? null : normalizeNew(item, [...path, key])]));
  }
  if (!Array.isArray(value)) return value;
  switch (rule) {
    case 'replace':
      return value;
    case 'byTarget':
      return mergeKeyed([], value, volumeTarget);
    case 'bySecretTarget':
      return mergeKeyed([], value, mountTarget('/run/secrets/'));
    case 'byConfigTarget':
      return mergeKeyed([], value, mountTarget('/'));
    case 'byPort':
      return mergeKeyed([], value, portKey);
    default:
      return union([], value);
  }
}

function describe(value: Yaml): string {
  if (Array.isArray(value)) return 'a list';
  if (isMap(value)) return 'a map';
  return `the value ${JSON.stringify(value)}`;
}

/** `KEY=value` lists and `{KEY: value}` maps as one map; `KEY` alone means "take it from the environment". */
function toNameMap(value: Yaml, path: string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item !== 'string') throw new UsageError(`${path.join('.')}: list items must be KEY=value text`);
      const eq = item.indexOf('=');
      if (eq < 0) out[item] = null;
      else out[item.slice(0, eq)] = item.slice(eq + 1);
    }
  } else if (isMap(value)) {
    for (const [key, item] of Object.entries(value)) {
      out[key] = item === null ? null : typeof item === 'object' ? JSON.stringify(item) : String(item);
    }
  }
  return out;
}

function toNameList(map: Record<string, string | null>): string[] {
  return Object.entries(map).map(([key, value]) => (value === null ? key : `${key}=${value}`));
}

function union(base: Yaml[], next: Yaml[]): Yaml[] {
  const seen = new Set(base.map((item) => JSON.stringify(item)));
  const out = [...base];
  for (const item of next) {
    const id = JSON.stringify(item);
    if (!seen.has(id)) {
      seen.add(id);
      out.push(item);
    }
  }
  return out;
}

function mergeKeyed(base: Yaml[], next: Yaml[], keyOf: (item: Yaml) => string): Yaml[] {
  const out = new Map<string, Yaml>();
  for (const item of [...base, ...next]) {
    const key = keyOf(item);
    if (out.has(key)) out.delete(key); // re-insert so the later definition keeps the later position
    out.set(key, item);
  }
  return [...out.values()];
}

/** `src:/target[:mode]` or `{target: …}` → the path inside the container. */
function volumeTarget(item: Yaml): string {
  if (typeof item === 'string') {
    const parts = item.split(':');
    return parts.length === 1 ? parts[0]! : parts[1]!;
  }
  if (isMap(item) && typeof item.target === 'string') return item.target;
  return JSON.stringify(item);
}

/** Where a secret or config is mounted: its target, made absolute under `base`, or `base<source>`. */
function mountTarget(base: string): (item: Yaml) => string {
  return (item) => {
    const source = typeof item === 'string' ? item : isMap(item) && typeof item.source === 'string' ? item.source : undefined;
    if (source === undefined) return JSON.stringify(item);
    const target = isMap(item) && typeof item.target === 'string' && item.target !== '' ? item.target : source;
    return target.startsWith('/') ? target : `${base}${target}`;
  };
}

/** Fields that take one value or a list of them. */
const ONE_OR_MANY = new Set(['dns', 'dns_search', 'tmpfs', 'env_file']);

/** The service field a path names (`services.<name>.<field…>`), or '' outside services. */
function field(path: readonly string[]): string {
  return path[0] === 'services' && path.length >= 3 ? path.slice(2).join('.') : '';
}

function asList(value: Yaml): Yaml[] {
  return Array.isArray(value) ? value : [value];
}

/** extra_hosts in list (`host:ip`, `host=ip`) or map form, as `host:ip` entries (the form every loader reads). */
function hostList(value: Yaml): Yaml[] {
  if (isMap(value)) return Object.entries(value).flatMap(([host, ip]) => asList(ip).map((address) => `${host}:${address}`));
  return asList(value).map((entry) => (typeof entry === 'string' && /^[^:=]+=/.test(entry) ? entry.replace('=', ':') : entry));
}

/**
 * A port's identity as the Compose specification keys it: host ip, target, published, protocol.
 * Short syntax `[[host_ip:]published:]target[/protocol]` (an IPv6 host ip in brackets) and long
 * syntax `{target, published, host_ip, protocol}` give the same key for the same port.
 */
export function portKey(item: Yaml): string {
  const key = (hostIp: string, published: string, target: string, protocol: string) => JSON.stringify([hostIp, published, target, protocol.toLowerCase()]);
  if (typeof item === 'number') return key('', '', String(item), 'tcp');
  if (typeof item === 'string') {
    const slash = item.lastIndexOf('/');
    const [spec, protocol] = slash > item.lastIndexOf(']') && slash >= 0 ? [item.slice(0, slash), item.slice(slash + 1)] : [item, 'tcp'];
    const bracket = spec.startsWith('[') ? spec.indexOf(']') : -1;
    const hostIp = bracket > 0 ? spec.slice(1, bracket) : undefined;
    const rest = bracket > 0 ? spec.slice(bracket + 2) : spec;
    const parts = rest.split(':');
    const target = parts.pop()!;
    const published = parts.pop() ?? '';
    return key(hostIp ?? parts.join(':'), published, target, protocol || 'tcp');
  }
  if (isMap(item) && item.target !== undefined) {
    const text = (value: Yaml | undefined) => (value === undefined || value === null ? '' : String(value));
    return key(text(item.host_ip), text(item.published), text(item.target), text(item.protocol) || 'tcp');
  }
  return JSON.stringify(item);
}
