/**
 * What `up` writes before it deploys, and what `down`, `status` and `logs` read back: the
 * combined file as deployed, and a record of the stack (runtime, name, what up created).
 * Both live in <state-dir>/<name>/; the compose file is private when it holds credentials.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { RuntimeError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { isMap, type Yaml, type YamlMap } from '../templates/merge.js';

export type RuntimeName = 'compose' | 'swarm' | 'helm';
export const RUNTIMES: readonly RuntimeName[] = ['compose', 'swarm', 'helm'];

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
  createdAt: string;
}

export function stackDir(stateDir: string, name: string): string {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) throw new UsageError(`--name must be lower-case letters, digits, _ and - (a Docker project name), got "${name}"`);
  return join(resolve(stateDir), name);
}

export function writeRecord(dir: string, record: StackRecord): void {
  writeFileAtomic(join(dir, 'stack.json'), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o644 });
}

export function readRecord(stateDir: string, name: string): StackRecord | undefined {
  const file = join(stackDir(stateDir, name), 'stack.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StackRecord;
  } catch (error) {
    throw new RuntimeError(`${file}: not a stack record (${(error as Error).message})`);
  }
}

export interface SecretFile {
  name: string;
  file: string;
}

/**
 * Points the document's file secrets at `secretsDir` (the fragments name them ./devsecrets/<file>,
 * relative to a compose file that now lives elsewhere) and checks each: it exists, is a file, and
 * is not readable by everyone.
 */
export function bindSecrets(document: YamlMap, secretsDir: string): SecretFile[] {
  const secrets = document.secrets;
  if (!isMap(secrets)) return [];
  const found: SecretFile[] = [];
  for (const [name, definition] of Object.entries(secrets)) {
    if (!isMap(definition) || typeof definition.file !== 'string') continue;
    const file = join(resolve(secretsDir), basename(definition.file));
    let mode: number;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) throw new Error('not a file');
      mode = stat.mode;
    } catch {
      throw new UsageError(`secret ${name}: ${file} is missing (put the secret files in ${secretsDir}, or use --secrets-dir)`);
    }
    if (mode & 0o004) throw new UsageError(`secret ${name}: ${file} is readable by everyone (chmod 600 it)`);
    definition.file = file;
    found.push({ name, file });
  }
  return found;
}

/**
 * Compose (not Swarm) mounts a secret file as it is on the host and ignores a secret's uid and
 * mode (docker/compose#9648), so a 0600 file is unreadable to an image's unprivileged user.
 * Services of `imageRepository` that mount secrets run as the files' owner instead (`user:
 * uid:gid`), unless the file sets a user. Returns the services changed.
 */
export function runAsSecretsOwner(document: YamlMap, secrets: readonly SecretFile[], imageRepository: string): string[] {
  if (secrets.length === 0) return [];
  const { uid, gid } = statSync(secrets[0]!.file);
  const changed: string[] = [];
  for (const [name, service] of Object.entries(servicesOf(document))) {
    if (!isMap(service) || service.user !== undefined || !Array.isArray(service.secrets) || service.secrets.length === 0) continue;
    if (typeof service.image !== 'string' || !service.image.startsWith(`${imageRepository}:`)) continue;
    service.user = `${uid}:${gid}`;
    changed.push(name);
  }
  return changed;
}

/** The external networks the document expects to exist (the old NETWORK_NAME). */
export function externalNetworks(document: YamlMap): string[] {
  const networks = document.networks;
  if (!isMap(networks)) return [];
  return Object.entries(networks)
    .filter(([, n]) => isMap(n) && n.external === true)
    .map(([key, n]) => (isMap(n) && typeof n.name === 'string' ? n.name : key));
}

/** The images of the services, each with the services that use it. */
export function serviceImages(document: YamlMap): Map<string, string[]> {
  const images = new Map<string, string[]>();
  for (const [service, definition] of Object.entries(servicesOf(document))) {
    if (isMap(definition) && typeof definition.image === 'string') images.set(definition.image, [...(images.get(definition.image) ?? []), service]);
  }
  return images;
}

export function servicesOf(document: YamlMap): Record<string, Yaml> {
  return isMap(document.services) ? document.services : {};
}

/**
 * The document without the named services (`up --without`), and without the other services'
 * `depends_on` entries naming them. Names that are not services of the document are a usage error.
 */
export function withoutServices(document: YamlMap, names: readonly string[]): YamlMap {
  if (names.length === 0) return document;
  const services = servicesOf(document);
  const unknown = names.filter((n) => !(n in services));
  if (unknown.length) throw new UsageError(`--without: no service ${unknown.map((n) => `"${n}"`).join(', ')} in this stack (its services: ${Object.keys(services).sort().join(', ')})`);
  const kept: Record<string, Yaml> = {};
  for (const [name, service] of Object.entries(services)) {
    if (names.includes(name)) continue;
    if (!isMap(service) || service.depends_on === undefined) {
      kept[name] = service;
      continue;
    }
    const dependsOn = service.depends_on;
    const filtered = Array.isArray(dependsOn) ? dependsOn.filter((d) => !names.includes(String(d)))
      : isMap(dependsOn) ? Object.fromEntries(Object.entries(dependsOn).filter(([d]) => !names.includes(d))) : dependsOn;
    kept[name] = { ...service, depends_on: filtered };
  }
  return { ...document, services: kept };
}

/**
 * Swarm without its routing mesh, for hosts whose kernel lacks IPVS (the mesh and the services'
 * virtual IPs need it): ports published on the node that runs the task (`mode: host`, one task
 * per node and port), and service names resolved to the tasks' own addresses (`dnsrr`).
 */
export function withoutRoutingMesh(document: YamlMap): void {
  for (const definition of Object.values(servicesOf(document))) {
    if (!isMap(definition)) continue;
    const deploy = isMap(definition.deploy) ? definition.deploy : (definition.deploy = {});
    deploy.endpoint_mode = 'dnsrr';
    if (!Array.isArray(definition.ports)) continue;
    definition.ports = definition.ports.map((port) => {
      if (typeof port !== 'string' && typeof port !== 'number') return port;
      const match = /^(?:(?:\[[^\]]+\]|[\d.]+):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(String(port));
      if (!match) return port;
      return { target: Number(match[2]), published: Number(match[1]), protocol: match[3] ?? 'tcp', mode: 'host' };
    });
  }
}
