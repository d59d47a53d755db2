/**
 * The Compose and Swarm runtimes: from a combined document to a running stack and back,
 * through the command lines of docker.ts. The two differ in the deploy, status, logs and
 * removal commands only; Helm is helm-stack.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { RuntimeError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { stackConfigContext, writeConfigFiles, type ConfigContext } from '../combine/config-files.js';
import type { YamlMap } from '../combine/merge.js';
import { formatCompose } from '../combine/output.js';
import { combineStack } from '../combine/stack.js';
import { CONFIG_TEMPLATES_DIR } from '../paths.js';
import { maskCredentials } from '../secrets.js';
import {
  checkEngine,
  composeDown,
  composeLogs,
  composeStatus,
  composeUp,
  detectComposeTool,
  ensureImages,
  ensureNetworks,
  lastLogLines,
  networkCreate,
  serviceLogs,
  stackDeploy,
  stackRemove,
  swarmActive,
  swarmStatus,
  type DockerServiceStatus,
} from './docker.js';
import { firstErrorLine, formatCommand, runChecked, spawnRunner, type CommandLine, type Runner } from './exec.js';
import { dryRunText, failureReport } from './report.js';
import { combineWords, isReady, type Deployment, type LogsOptions, type RemoveOptions, type Runtime, type StackStatus, type Ui, type UpRequest } from './runtime.js';
import {
  bindSecrets,
  describeSecretsAccess,
  externalNetworks,
  secretsAccess,
  serviceImages,
  servicesOf,
  withoutRoutingMesh,
  withoutServices,
  writeSecretCopies,
  type SecretsAccess,
} from './stack-files.js';
import { makeStackDir, readRecord, removeStackDir, stackDir, writeRecord, type StackRecord } from './state.js';

type DockerKind = 'compose' | 'swarm';

/** The Compose (`docker compose`, else docker-compose v1) or the Swarm (`docker stack`) runtime. */
export function dockerRuntime(kind: DockerKind, runner: Runner = spawnRunner): Runtime {
  return {
    name: kind,
    plan: (request) => plan(kind, request, runner),
    deploy: (request, ui) => deploy(kind, request, runner, ui),
    wait: (deployment, ui) => wait(deployment as DockerDeployment, runner, ui),
    status: (record) => status(record, runner),
    logs: async (record, service, options: LogsOptions) => (await runner(logsCommand(record, service, options), { inherit: true })).code,
    remove: (record, options: RemoveOptions) => remove(record, runner, options),
  };
}

/** A combined stack ready to be written: its file, its text and how its secret files are read. */
interface Prepared {
  dir: string;
  file: string;
  document: YamlMap;
  text: string;
  /** The text with its credentials masked (dry run). */
  maskedText: () => string;
  containsSecrets: boolean;
  tool?: string[];
  secrets: SecretsAccess;
  configDir: string;
  /** The values the stack's configuration files are rendered with (services left out by --without are not scraped). */
  configContext: ConfigContext;
}

async function prepare(kind: DockerKind, request: UpRequest, runner: Runner): Promise<Prepared> {
  if (request.values.length) throw new UsageError('--values is for --runtime helm (Compose and Swarm take properties: -p, --set)');
  if (request.publishMode !== 'ingress' && request.publishMode !== 'host') throw new UsageError(`--publish-mode must be ingress or host, got "${String(request.publishMode)}"`);
  const dir = stackDir(request.stateRoot, { runtime: kind, name: request.name });
  // The metrics services mount their configuration from SMARTMETER_CONFIG_DIR: the stack's own copy.
  const configDir = join(dir, 'config');
  const combined = combineStack({ ...request.stack, set: [`SMARTMETER_CONFIG_DIR=${configDir}`, ...request.stack.set] });
  const { modes } = combined;
  if (kind === 'compose' && modes.clusterMode === 'cluster') {
    // Its replicas take their slot from Swarm's {{.Task.Slot}}, which Compose leaves as it is.
    throw new UsageError('cluster mode needs --runtime swarm or helm (its services number their replicas with Swarm task slots)');
  }
  const result = { ...combined.result, document: withoutServices(combined.result.document, request.without) };
  for (const warning of result.warnings) process.stderr.write(`smartmeter: warning: ${warning}\n`);
  const document = result.document;
  const files = bindSecrets(document, request.secretsDir);
  // Swarm hands Docker secrets to the containers itself (root's, 0444 unless the file says otherwise).
  const own = result.property('docker-smartmeter-repository');
  const secrets: SecretsAccess = kind === 'compose' && own ? secretsAccess(document, files, own, join(dir, 'secrets'), process.getuid?.() === 0) : { kind: 'none' };
  if (kind === 'swarm' && request.publishMode === 'host') withoutRoutingMesh(document);
  const tool = kind === 'compose' ? await detectComposeTool(runner) : undefined;
  const header = { modes, targets: request.stack.targets };
  return {
    dir,
    file: join(dir, 'docker-compose.yml'),
    document,
    text: formatCompose(result, header),
    maskedText: () => formatCompose({ ...result, document: maskCredentials(document) as YamlMap }, header),
    containsSecrets: result.containsSecrets,
    tool,
    secrets,
    configDir,
    configContext: stackConfigContext(result),
  };
}

function deployCommand(kind: DockerKind, prepared: Pick<Prepared, 'tool' | 'file'>, name: string): CommandLine {
  return kind === 'compose' ? composeUp(prepared.tool!, name, prepared.file) : stackDeploy(name, prepared.file);
}

async function plan(kind: DockerKind, request: UpRequest, runner: Runner): Promise<string> {
  const prepared = await prepare(kind, request, runner);
  const commands: CommandLine[] = externalNetworks(prepared.document).map((n) => networkCreate(n, kind === 'swarm'));
  commands.push(deployCommand(kind, prepared, request.name));
  return dryRunText(prepared.file, prepared.maskedText(), prepared.containsSecrets, commands, describeSecretsAccess(prepared.secrets));
}

interface DockerDeployment extends Deployment {
  kind: DockerKind;
  request: UpRequest;
  /** The record of the stack before this up: it ran, so a failure leaves it be. */
  previous?: StackRecord;
  services: string[];
}

async function deploy(kind: DockerKind, request: UpRequest, runner: Runner, ui: Ui): Promise<DockerDeployment> {
  await checkEngine(runner);
  if (kind === 'swarm' && !(await swarmActive(runner))) {
    throw new RuntimeError('this Docker engine is not a Swarm manager (run docker swarm init, or use --runtime compose)');
  }
  // An up over a stack that runs already updates it: a failure then leaves it be (its data
  // included), and what the first up created stays recorded for down.
  const previous = readRecord(request.stateRoot, { runtime: kind, name: request.name });
  const prepared = await prepare(kind, request, runner);
  await ensureImages(runner, serviceImages(prepared.document), ui.log);
  makeStackDir(request.stateRoot, prepared.dir);
  writeConfigFiles(CONFIG_TEMPLATES_DIR, prepared.configDir, prepared.configContext);
  // Inline credentials (no_secrets mode) make the deployed file a secret too.
  writeFileAtomic(prepared.file, prepared.text, { mode: prepared.containsSecrets ? 0o600 : 0o644 });
  const createdNetworks = await ensureNetworks(runner, externalNetworks(prepared.document), kind === 'swarm');
  const now = new Date().toISOString();
  const record: StackRecord = {
    runtime: kind,
    name: request.name,
    file: prepared.file,
    createdNetworks: [...new Set([...(previous?.createdNetworks ?? []), ...createdNetworks])],
    composeTool: prepared.tool,
    ...combineWords(request),
    createdAt: previous?.createdAt ?? now,
    updatedAt: now,
  };
  writeRecord(prepared.dir, record);
  const deployment: DockerDeployment = { kind, request, record, dir: prepared.dir, previous, services: Object.keys(servicesOf(prepared.document)).sort() };

  // The copies of the secret files, once the record says where the stack lives: a failure
  // here removes what this up made, copies included, like any other.
  try {
    writeSecretCopies(prepared.secrets);
  } catch (error) {
    return fail(deployment, runner, ui, (error as Error).message);
  }
  const command = deployCommand(kind, prepared, request.name);
  const result = await runner(command);
  if (result.code !== 0) return fail(deployment, runner, ui, `${formatCommand({ program: command.program, args: command.args.slice(0, 3) })}… failed: ${firstErrorLine(result)}`);
  return deployment;
}

/**
 * The end of a failed up: the failed service's report, then the stack removed (unless it ran
 * before, or --keep-on-failure), then the error.
 */
async function fail(deployment: DockerDeployment, runner: Runner, ui: Ui, message: string, failed?: DockerServiceStatus): Promise<never> {
  const { request, record, previous } = deployment;
  if (failed) {
    const container = failed.containers[0];
    if (container || deployment.kind === 'swarm') {
      const target = container ? { container } : { swarmService: `${request.name}_${failed.service}` };
      const logs = await lastLogLines(runner, target, 20).catch((error: Error) => `(no log: ${error.message})`);
      const where = container ? `container ${container.slice(0, 12)}` : `service ${target.swarmService}`;
      ui.log(failureReport(failed, [{ title: `last log lines of ${failed.service} (${where})`, text: logs }]));
    } else ui.log(failureReport(failed, []));
  }
  if (previous) ui.log(`the stack ran before this up: left as it is (smartmeter status --name ${request.name} --runtime ${deployment.kind})`);
  else if (request.keepOnFailure) ui.log(`left as it is (--keep-on-failure); remove it with: smartmeter down --name ${request.name} --runtime ${deployment.kind} --volumes`);
  else {
    // The first failure is the one to report; a cleanup problem is said, not thrown over it.
    await remove(record, runner, { volumes: true, log: ui.log })
      .then(() => removeStackDir(request.stateRoot, deployment.dir))
      .catch((error: unknown) => ui.log(`cleaning up failed too: ${(error as Error).message}`));
  }
  throw new RuntimeError(message);
}

async function wait(deployment: DockerDeployment, runner: Runner, ui: Ui): Promise<StackStatus> {
  const { kind, request, services } = deployment;
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
      if (interrupted) return await fail(deployment, runner, ui, `interrupted (${interrupted}) while waiting for the services`);
      let statuses: DockerServiceStatus[];
      try {
        statuses = kind === 'compose' ? await composeStatus(runner, request.name, services) : await swarmStatus(runner, request.name, services);
        readFailures = 0;
      } catch (error) {
        // A container can go between `docker ps` and `docker inspect`: read again, a few times.
        readFailures += 1;
        if (readFailures >= 3) return await fail(deployment, runner, ui, `cannot read the state of the services: ${(error as Error).message}`);
        await sleep(1000);
        continue;
      }
      ui.progress(statuses);
      const failed = statuses.find((s) => s.phase === 'failed');
      if (failed) return await fail(deployment, runner, ui, `service ${failed.service} failed: ${failed.detail}`, failed);
      if (statuses.every(isReady)) return stackStatus(deployment.record, statuses);
      if (Date.now() > deadline) {
        const waiting = statuses.filter((s) => !isReady(s));
        return await fail(deployment, runner, ui, `not healthy after ${Math.round(request.timeoutMs / 1000)} s: ${waiting.map((s) => `${s.service} (${s.detail})`).join(', ')}`, waiting[0]);
      }
      await sleep(1000);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function stackStatus(record: StackRecord, statuses: readonly DockerServiceStatus[]): StackStatus {
  return {
    runtime: record.runtime,
    name: record.name,
    namespace: null,
    ready: statuses.every(isReady),
    services: statuses.map(({ service, phase, detail, replicas }) => ({ service, phase, detail, replicas })),
  };
}

async function status(record: StackRecord, runner: Runner): Promise<StackStatus> {
  if (!existsSync(record.file)) throw new RuntimeError(`${record.file}: the deployed file of stack ${record.name} is gone`);
  const services = Object.keys(servicesOf(load(readFileSync(record.file, 'utf8')) as YamlMap)).sort();
  await checkEngine(runner);
  const statuses = record.runtime === 'compose' ? await composeStatus(runner, record.name, services) : await swarmStatus(runner, record.name, services);
  return stackStatus(record, statuses);
}

function logsCommand(record: StackRecord, service: string, options: LogsOptions): CommandLine {
  return record.runtime === 'compose'
    ? composeLogs(record.composeTool ?? ['docker', 'compose'], record.name, record.file, service, options.follow, options.tail)
    : serviceLogs(record.name, service, options.follow, options.tail);
}

/**
 * Removes what up created: the services, their networks, with --volumes their volumes, and the
 * networks up made. The stack's directory (its files, the secret files' copies included) is the
 * caller's to remove.
 */
async function remove(record: StackRecord, runner: Runner, options: RemoveOptions): Promise<void> {
  if (record.runtime === 'compose') {
    await runChecked(runner, composeDown(record.composeTool ?? ['docker', 'compose'], record.name, record.file, options.volumes), 'compose down');
  } else {
    await runChecked(runner, stackRemove(record.name), 'docker stack rm');
    // Swarm removes tasks asynchronously: volumes and networks can go once the containers have.
    const deadline = Date.now() + 60_000;
    const label = `label=com.docker.stack.namespace=${record.name}`;
    while ((await runChecked(runner, { program: 'docker', args: ['ps', '--all', '--quiet', '--filter', label] }, 'docker ps')).stdout.trim()) {
      if (Date.now() > deadline) throw new RuntimeError(`the containers of stack ${record.name} did not stop within 60 s`);
      await sleep(500);
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
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
