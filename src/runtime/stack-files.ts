/**
 * The combined document on its way to an engine: its secret files bound and checked, the
 * private copies of them that smartmeter's own containers read on Compose (written into the
 * stack's directory, see state.ts), and the edits `up` makes (--without, no routing mesh).
 */
import { chmodSync, closeSync, fchmodSync, fchownSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { RuntimeError, UsageError } from '../errors.js';
import { describeErrno } from '../fs-atomic.js';
import { isMap, type Yaml, type YamlMap } from '../combine/merge.js';

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

/** The user smartmeter's image runs as: the Dockerfile's USER, the chart's runAsUser/runAsGroup. */
export const IMAGE_USER = { uid: 10001, gid: 10001 } as const;

/** A private copy of a secret file, for smartmeter's own containers on Compose. */
export interface SecretCopy {
  /** The secret the services mount (its name under /run/secrets). */
  secret: string;
  /** The document's secret that mounts the copy: used by smartmeter's services only. */
  copySecret: string;
  /** The secret file as given (--secrets-dir). */
  from: string;
  /** The copy, in the stack's secrets directory. */
  to: string;
}

/**
 * How smartmeter's containers read the secret files on Compose:
 * - `copies`: `up` runs as root; it writes private copies (0400, owned by the image's user) into
 *   `dir` (0700), the services mount those and run as the image's user, whoever owns the files;
 * - `owner`: `up` is not root and cannot hand a file to another user: the services run as the
 *   files' (one, non-root) owner;
 * - `none`: no service of smartmeter's image mounts a secret file.
 */
export type SecretsAccess =
  | { kind: 'none' }
  | { kind: 'copies'; user: string; services: string[]; dir: string; copies: SecretCopy[] }
  | { kind: 'owner'; user: string; services: string[] };

/**
 * Compose (not Swarm) mounts a secret file as it is on the host and ignores a secret's uid and
 * mode (docker/compose#9648): a 0600 file of root's is unreadable to the unprivileged user of
 * smartmeter's image. Edits the document so that the services of `imageRepository` that mount
 * secret files (and set no `user:` of their own) can read them without running as root; other
 * services keep the files as they are. Run as root (`asRoot`), each secret those services mount
 * gets a copy in `copiesDir` (a secret of its own, `<name>_smartmeter`, mounted at the same
 * /run/secrets/<name>) and the services run as the image's user: nothing is written here, see
 * writeSecretCopies. Otherwise the services run as the files' owner, which must be one user and
 * not root: else a usage error names the files and their owners.
 */
export function secretsAccess(document: YamlMap, secrets: readonly SecretFile[], imageRepository: string, copiesDir: string, asRoot: boolean): SecretsAccess {
  const files = new Map(secrets.map((s) => [s.name, s.file]));
  const sourceOf = (entry: Yaml): string | undefined => (typeof entry === 'string' ? entry : isMap(entry) && typeof entry.source === 'string' ? entry.source : undefined);
  const services: [string, YamlMap][] = [];
  for (const [name, service] of Object.entries(servicesOf(document))) {
    if (!isMap(service) || service.user !== undefined || !Array.isArray(service.secrets)) continue;
    if (typeof service.image !== 'string' || !(service.image.startsWith(`${imageRepository}:`) || service.image.startsWith(`${imageRepository}@`))) continue;
    if (service.secrets.some((entry) => files.has(sourceOf(entry) ?? ''))) services.push([name, service]);
  }
  if (services.length === 0) return { kind: 'none' };
  const mounted = [...new Set(services.flatMap(([, service]) => (service.secrets as Yaml[]).map(sourceOf).filter((s): s is string => s !== undefined && files.has(s))))].sort();
  const names = services.map(([name]) => name).sort();

  if (asRoot) {
    const user = `${IMAGE_USER.uid}:${IMAGE_USER.gid}`;
    const definitions = document.secrets as YamlMap;
    const copies = mounted.map((secret): SecretCopy => {
      const copySecret = `${secret}_smartmeter`;
      if (copySecret in definitions) throw new UsageError(`secret ${copySecret}: the stack defines it, and up names its private copy of ${secret} so (rename the secret)`);
      return { secret, copySecret, from: files.get(secret)!, to: join(copiesDir, secret) };
    });
    for (const copy of copies) definitions[copy.copySecret] = { file: copy.to };
    for (const [, service] of services) {
      service.secrets = (service.secrets as Yaml[]).map((entry) => {
        const source = sourceOf(entry);
        if (source === undefined || !files.has(source)) return entry;
        return isMap(entry) ? { ...entry, source: `${source}_smartmeter`, target: entry.target ?? source } : { source: `${source}_smartmeter`, target: source };
      });
      service.user = user;
    }
    // A secret only smartmeter's services mounted is not deployed as it is any more.
    const stillMounted = new Set(Object.values(servicesOf(document)).flatMap((s) => (isMap(s) && Array.isArray(s.secrets) ? s.secrets.map(sourceOf) : [])));
    for (const secret of mounted) if (!stillMounted.has(secret)) delete definitions[secret];
    return { kind: 'copies', user, services: names, dir: copiesDir, copies };
  }

  const owners = mounted.map((secret) => {
    const { uid, gid } = statSync(files.get(secret)!);
    return { secret, file: files.get(secret)!, uid, gid };
  });
  const listed = owners.map((o) => `${o.secret} (${o.file}, owner ${o.uid}:${o.gid})`).join(', ');
  const remedy = `run up as root (it gives smartmeter's containers private copies owned by ${IMAGE_USER.uid}:${IMAGE_USER.gid}), or chown the files to one non-root user (e.g. ${IMAGE_USER.uid}:${IMAGE_USER.gid}, the image's)`;
  if (new Set(owners.map((o) => o.uid)).size > 1) {
    throw new UsageError(`the secret files of ${names.join(', ')} have different owners: ${listed}; on Compose those containers read them as one user: ${remedy}`);
  }
  if (owners[0]!.uid === 0) {
    throw new UsageError(`the secret files of ${names.join(', ')} are root's: ${listed}; on Compose those containers would have to run as root to read them: ${remedy}`);
  }
  const user = `${owners[0]!.uid}:${owners[0]!.gid}`;
  for (const [, service] of services) service.user = user;
  return { kind: 'owner', user, services: names };
}

/**
 * Writes the private copies of `secretsAccess`: the directory 0700, each copy 0400 and owned by
 * the image's user, written to a temporary file (created 0400 and handed over before a byte of
 * the secret is written) and renamed over; copies of secrets the stack no longer mounts go.
 */
export function writeSecretCopies(access: SecretsAccess): void {
  if (access.kind !== 'copies') return;
  mkdirSync(access.dir, { recursive: true, mode: 0o700 });
  chmodSync(access.dir, 0o700);
  const [uid, gid] = access.user.split(':').map(Number) as [number, number];
  for (const copy of access.copies) {
    let content: Buffer;
    try {
      content = readFileSync(copy.from);
    } catch (error) {
      throw new RuntimeError(`secret ${copy.secret}: cannot read ${copy.from}: ${describeErrno(String((error as NodeJS.ErrnoException).code))}`);
    }
    const tmp = join(access.dir, `.${basename(copy.to)}.${process.pid}.${Date.now()}.tmp`);
    try {
      const fd = openSync(tmp, 'wx', 0o400);
      try {
        fchownSync(fd, uid, gid);
        fchmodSync(fd, 0o400);
        writeFileSync(fd, content);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, copy.to);
    } catch (error) {
      rmSync(tmp, { force: true });
      throw new RuntimeError(`secret ${copy.secret}: cannot write its copy ${copy.to}: ${describeErrno(String((error as NodeJS.ErrnoException).code))}`);
    }
  }
  const kept = new Set(access.copies.map((c) => basename(c.to)));
  for (const entry of readdirSync(access.dir)) if (!kept.has(entry)) rmSync(join(access.dir, entry), { force: true, recursive: true });
}

/** What `up --dry-run` says about the secret files (comment lines). */
export function describeSecretsAccess(access: SecretsAccess): string[] {
  if (access.kind === 'none') return [];
  if (access.kind === 'owner') {
    return [`${access.services.join(', ')} run as ${access.user}, the secret files' owner (up is not root: it cannot make copies for the image's user)`];
  }
  return [
    `${access.services.join(', ')} run as ${access.user} and read private copies of the secret files, which up writes (0400, owned by ${access.user}, in ${access.dir}, 0700) and down removes:`,
    ...access.copies.map((c) => `  ${c.to} <- ${c.from}`),
  ];
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
