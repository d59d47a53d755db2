/**
 * `up`, `down`, `status` and `logs` on Docker Compose and Docker Swarm: from a combined document
 * to a running stack and back, through the command lines of docker.ts. Helm is in helm.ts.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../fs-atomic.js';
import type { YamlMap } from '../combine/merge.js';
import {
  checkEngine,
  composeDown,
  composeLogs,
  composeStatus,
  composeUp,
  detectComposeTool,
  ensureImages,
  ensureNetworks,
  isReady,
  lastLogLines,
  networkCreate,
  serviceLogs,
  stackDeploy,
  stackRemove,
  swarmActive,
  swarmStatus,
  type ServiceStatus,
} from './docker.js';
import { firstErrorLine, formatCommand, runChecked, type CommandLine, type Runner } from './exec.js';
import {
  bindSecrets,
  externalNetworks,
  readRecord,
  secretsAccess,
  serviceImages,
  servicesOf,
  stackDir,
  withoutRoutingMesh,
  writeRecord,
  writeSecretCopies,
  type SecretsAccess,
  type StackRecord,
} from './stack-files.js';

export interface DockerUpRequest {
  runtime: 'compose' | 'swarm';
  name: string;
  stateDir: string;
  document: YamlMap;
  /** Turns the (possibly edited) document into the file's text. */
  render: (document: YamlMap) => string;
  containsSecrets: boolean;
  secretsDir: string;
  timeoutMs: number;
  keepOnFailure: boolean;
  /** Swarm: publish ports on the task's node instead of the routing mesh. */
  publishMode: 'ingress' | 'host';
  /** Files the stack mounts (its configuration), written once the engine answered. */
  writeStackFiles?: () => void;
  /**
   * smartmeter's image (without tag): on Compose its containers that mount secret files get
   * private copies owned by the image's user (up as root), or run as the files' owner.
   */
  ownImageRepository?: string;
  /** Whether up runs as root (can hand the copies to the image's user); default: process.getuid() === 0. */
  asRoot?: boolean;
}

export interface Ui {
  log: (line: string) => void;
  /** Called on every poll while waiting, with each service's state. */
  progress: (statuses: readonly ServiceStatus[]) => void;
}

export interface DryRun {
  file: string;
  text: string;
  commands: CommandLine[];
  /** How smartmeter's containers would read the secret files (Compose); nothing is written. */
  secrets: SecretsAccess;
}

/** The file and the commands `up` would run, without touching the engine (compose tool detection aside). */
export async function planDockerUp(request: DockerUpRequest, runner: Runner): Promise<DryRun> {
  const { file, text, tool, secrets } = await prepare(request, runner);
  const commands: CommandLine[] = externalNetworks(request.document).map((n) => networkCreate(n, request.runtime === 'swarm'));
  commands.push(request.runtime === 'compose' ? composeUp(tool!, request.name, file) : stackDeploy(request.name, file));
  return { file, text, commands, secrets };
}

async function prepare(request: DockerUpRequest, runner: Runner): Promise<{ dir: string; file: string; text: string; tool?: string[]; secrets: SecretsAccess }> {
  const dir = stackDir(request.stateDir, request.name);
  const files = bindSecrets(request.document, request.secretsDir);
  // Swarm hands Docker secrets to the containers itself (root's, 0444 unless the file says otherwise).
  const secrets: SecretsAccess = request.runtime === 'compose' && request.ownImageRepository
    ? secretsAccess(request.document, files, request.ownImageRepository, join(dir, 'secrets'), request.asRoot ?? process.getuid?.() === 0)
    : { kind: 'none' };
  if (request.runtime === 'swarm' && request.publishMode === 'host') withoutRoutingMesh(request.document);
  const tool = request.runtime === 'compose' ? await detectComposeTool(runner) : undefined;
  return { dir, file: join(dir, 'docker-compose.yml'), text: request.render(request.document), tool, secrets };
}

export async function dockerUp(request: DockerUpRequest, runner: Runner, ui: Ui): Promise<ServiceStatus[]> {
  await checkEngine(runner);
  if (request.runtime === 'swarm' && !(await swarmActive(runner))) {
    throw new RuntimeError('this Docker engine is not a Swarm manager (run docker swarm init, or use --runtime compose)');
  }
  // An up over a stack that runs already updates it: a failure then leaves it be (its data
  // included), and what the first up created stays recorded for down.
  const previous = readRecord(request.stateDir, request.name);
  if (previous && previous.runtime !== request.runtime) {
    throw new UsageError(`stack ${request.name} runs on ${previous.runtime}: smartmeter down --name ${request.name} first, or use another --name`);
  }
  const { dir, file, text, tool, secrets } = await prepare(request, runner);
  await ensureImages(runner, serviceImages(request.document), ui.log);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  request.writeStackFiles?.();
  // Inline credentials (no_secrets mode) make the deployed file a secret too.
  writeFileAtomic(file, text, { mode: request.containsSecrets ? 0o600 : 0o644 });
  const createdNetworks = await ensureNetworks(runner, externalNetworks(request.document), request.runtime === 'swarm');
  const record: StackRecord = {
    runtime: request.runtime,
    name: request.name,
    file,
    createdNetworks: [...new Set([...(previous?.createdNetworks ?? []), ...createdNetworks])],
    composeTool: tool,
    createdAt: previous?.createdAt ?? new Date().toISOString(),
  };
  writeRecord(dir, record);

  const services = Object.keys(servicesOf(request.document)).sort();
  const fail = async (message: string, failed?: ServiceStatus): Promise<never> => {
    if (failed) {
      const logs = await lastLogLines(runner, failed.containers.length ? { container: failed.containers[0] } : { swarmService: `${request.name}_${failed.service}` }, 20).catch(() => '');
      if (logs) ui.log(`last log lines of ${failed.service}:\n${logs.split('\n').map((l) => `  ${l}`).join('\n')}`);
    }
    if (previous) ui.log(`the stack ran before this up: left as it is (smartmeter status --name ${request.name})`);
    else if (request.keepOnFailure) ui.log(`left as it is (--keep-on-failure); remove it with: smartmeter down --name ${request.name} --volumes`);
    else {
      // The first failure is the one to report; a cleanup problem is said, not thrown over it.
      await dockerDown(record, runner, { volumes: true, log: ui.log }).catch((error: unknown) => ui.log(`cleaning up failed too: ${(error as Error).message}`));
    }
    throw new RuntimeError(message);
  };

  // The copies of the secret files, once the record says where the stack lives: a failure
  // here removes what this up made, copies included, like any other.
  try {
    writeSecretCopies(secrets);
  } catch (error) {
    return fail((error as Error).message);
  }

  const deploy = request.runtime === 'compose' ? composeUp(tool!, request.name, file) : stackDeploy(request.name, file);
  const result = await runner(deploy);
  if (result.code !== 0) return fail(`${formatCommand({ program: deploy.program, args: deploy.args.slice(0, 3) })}… failed: ${firstErrorLine(result)}`);

  // Ctrl-C or a stop signal while waiting: the same clean-up as any failure.
  let interrupted: string | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = signal;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const deadline = Date.now() + request.timeoutMs;
    let readFailures = 0;
    for (;;) {
      if (interrupted) return await fail(`interrupted (${interrupted}) while waiting for the services`);
      let statuses: ServiceStatus[];
      try {
        statuses = request.runtime === 'compose' ? await composeStatus(runner, request.name, services) : await swarmStatus(runner, request.name, services);
        readFailures = 0;
      } catch (error) {
        // A container can go between `docker ps` and `docker inspect`: read again, a few times.
        readFailures += 1;
        if (readFailures >= 3) return await fail(`cannot read the state of the services: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      ui.progress(statuses);
      const failed = statuses.find((s) => s.phase === 'failed');
      if (failed) return await fail(`service ${failed.service} failed: ${failed.detail}`, failed);
      if (statuses.every(isReady)) return statuses;
      if (Date.now() > deadline) {
        const waiting = statuses.filter((s) => !isReady(s));
        return await fail(`not healthy after ${Math.round(request.timeoutMs / 1000)} s: ${waiting.map((s) => `${s.service} (${s.detail})`).join(', ')}`, waiting[0]);
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export interface DownOptions {
  volumes: boolean;
  log: (line: string) => void;
}

/**
 * Removes what up created: the services, their networks, with --volumes their volumes, the
 * networks up made, and the stack's directory (its files, the secret files' copies included).
 */
export async function dockerDown(record: StackRecord, runner: Runner, options: DownOptions): Promise<void> {
  if (record.runtime === 'compose') {
    await runChecked(runner, composeDown(record.composeTool ?? ['docker', 'compose'], record.name, record.file, options.volumes), 'compose down');
  } else {
    await runChecked(runner, stackRemove(record.name), 'docker stack rm');
    // Swarm removes tasks asynchronously: volumes and networks can go once the containers have.
    const deadline = Date.now() + 60_000;
    const label = `label=com.docker.stack.namespace=${record.name}`;
    while ((await runChecked(runner, { program: 'docker', args: ['ps', '--all', '--quiet', '--filter', label] }, 'docker ps')).stdout.trim()) {
      if (Date.now() > deadline) throw new RuntimeError(`the containers of stack ${record.name} did not stop within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    if (options.volumes) {
      const volumes = (await runChecked(runner, { program: 'docker', args: ['volume', 'ls', '--quiet', '--filter', label] }, 'docker volume ls')).stdout.split('\n').filter(Boolean);
      if (volumes.length) await runChecked(runner, { program: 'docker', args: ['volume', 'rm', ...volumes] }, 'removing the volumes');
    }
  }
  for (const network of record.createdNetworks) {
    const removed = await runner({ program: 'docker', args: ['network', 'rm', network] });
    if (removed.code !== 0 && !/not found|No such network/i.test(removed.stderr)) options.log(`network ${network} left: ${firstErrorLine(removed)}`);
  }
  const dir = join(record.file, '..');
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}

export async function dockerStatus(record: StackRecord, runner: Runner, services: readonly string[]): Promise<ServiceStatus[]> {
  await checkEngine(runner);
  return record.runtime === 'compose' ? composeStatus(runner, record.name, services) : swarmStatus(runner, record.name, services);
}

export function dockerLogsCommand(record: StackRecord, service: string, follow: boolean, tail: number): CommandLine {
  return record.runtime === 'compose'
    ? composeLogs(record.composeTool ?? ['docker', 'compose'], record.name, record.file, service, follow, tail)
    : serviceLogs(record.name, service, follow, tail);
}
