/**
 * Docker Compose and Docker Swarm: the command lines (plain values, unit-tested), and the
 * readings of the engine that `up` waits on and `status` prints.
 */
import { RuntimeError } from '../errors.js';
import { firstErrorLine, runChecked, type CommandLine, type Runner } from './exec.js';
import { isReady, type ServicePhase, type ServiceStatus } from './runtime.js';

const docker = (...args: string[]): CommandLine => ({ program: 'docker', args });

/** The compose tool: `docker compose` (v2) when the plugin answers, else `docker-compose` (v1). */
export async function detectComposeTool(runner: Runner): Promise<string[]> {
  const v2 = await runner(docker('compose', 'version', '--short')).catch(() => undefined);
  if (v2?.code === 0) return ['docker', 'compose'];
  const v1 = await runner({ program: 'docker-compose', args: ['version', '--short'] }).catch(() => undefined);
  if (v1?.code === 0) return ['docker-compose', '--compatibility'];
  throw new RuntimeError('neither `docker compose` (v2) nor `docker-compose` (v1) is installed');
}

/** v1 needs --compatibility to honour deploy.replicas and deploy.restart_policy; v2 does it anyway. */
export function composeCommand(tool: readonly string[], project: string, file: string, ...args: string[]): CommandLine {
  return { program: tool[0]!, args: [...tool.slice(1), '--project-name', project, '--file', file, ...args] };
}

export const composeUp = (tool: readonly string[], project: string, file: string) => composeCommand(tool, project, file, 'up', '--detach', '--remove-orphans');
export const composeDown = (tool: readonly string[], project: string, file: string, volumes: boolean) =>
  composeCommand(tool, project, file, 'down', '--remove-orphans', ...(volumes ? ['--volumes'] : []));
export const composeLogs = (tool: readonly string[], project: string, file: string, service: string, follow: boolean, tail: number) =>
  composeCommand(tool, project, file, 'logs', ...(follow ? ['--follow'] : []), '--tail', String(tail), service);

export const stackDeploy = (name: string, file: string) => docker('stack', 'deploy', '--compose-file', file, '--resolve-image', 'never', '--prune', name);
export const stackRemove = (name: string) => docker('stack', 'rm', name);
export const serviceLogs = (stack: string, service: string, follow: boolean, tail: number) =>
  docker('service', 'logs', ...(follow ? ['--follow'] : []), '--tail', String(tail), `${stack}_${service}`);
export const networkCreate = (name: string, swarm: boolean) => docker('network', 'create', ...(swarm ? ['--driver', 'overlay', '--attachable'] : []), name);

/** The daemon answers, or one line says why not. */
export async function checkEngine(runner: Runner): Promise<void> {
  const result = await runner(docker('version', '--format', '{{.Server.Version}}'));
  if (result.code !== 0) {
    throw new RuntimeError(`cannot reach the Docker daemon${process.env.DOCKER_HOST ? ` at ${process.env.DOCKER_HOST}` : ''}: ${firstErrorLine(result)}`);
  }
}

export async function swarmActive(runner: Runner): Promise<boolean> {
  const result = await runChecked(runner, docker('info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'), 'docker info');
  return result.stdout.trim() === 'active true';
}

/**
 * Every image is on the engine, or can be pulled; else one line names the first that is
 * neither, and the services using it.
 */
export async function ensureImages(runner: Runner, images: Map<string, string[]>, log: (line: string) => void): Promise<void> {
  for (const [image, services] of images) {
    if ((await runner(docker('image', 'inspect', '--format', '{{.Id}}', image))).code === 0) continue;
    log(`pulling ${image}`);
    const pull = await runner(docker('pull', '--quiet', image));
    if (pull.code !== 0) {
      throw new RuntimeError(`image ${image} (service ${services.join(', ')}) is not on the engine and cannot be pulled: ${firstErrorLine(pull)}`);
    }
  }
}

/** Creates the networks that are missing; returns those it created. */
export async function ensureNetworks(runner: Runner, names: readonly string[], swarm: boolean): Promise<string[]> {
  const created: string[] = [];
  for (const name of names) {
    const existing = await runner(docker('network', 'inspect', '--format', '{{.Driver}}', name));
    if (existing.code === 0) {
      if (swarm && existing.stdout.trim() !== 'overlay') throw new RuntimeError(`network ${name} exists with driver ${existing.stdout.trim()}; a Swarm stack needs an overlay network (docker network rm ${name})`);
      continue;
    }
    await runChecked(runner, networkCreate(name, swarm), `creating network ${name}`);
    created.push(name);
  }
  return created;
}

/** A Compose or Swarm service's state; `containers` are those to read logs from (Compose). */
export interface DockerServiceStatus extends ServiceStatus {
  containers: string[];
}

export interface InspectedContainer {
  Id: string;
  RestartCount: number;
  State: { Status: string; ExitCode: number; Health?: { Status: string } };
  Config: { Labels: Record<string, string>; Healthcheck?: { Test?: string[] } };
}

/** Restarts before a crash-looping container counts as failed rather than starting. */
const RESTARTS_TOLERATED = 3;

/** The state of each service of a compose project, from its containers. */
export async function composeStatus(runner: Runner, project: string, expected: readonly string[]): Promise<DockerServiceStatus[]> {
  const ids = (await runChecked(runner, docker('ps', '--all', '--quiet', '--filter', `label=com.docker.compose.project=${project}`), 'docker ps')).stdout.split('\n').filter(Boolean);
  const containers = ids.length ? (JSON.parse((await runChecked(runner, docker('inspect', ...ids), 'docker inspect')).stdout) as InspectedContainer[]) : [];
  return expected.map((service) => containerPhase(service, containers.filter((c) => c.Config.Labels['com.docker.compose.service'] === service)));
}

export function containerPhase(service: string, containers: readonly InspectedContainer[]): DockerServiceStatus {
  const ids = containers.map((c) => c.Id);
  // Compose creates every replica's container at once: their number is the number wanted.
  if (!containers.length) return { service, phase: 'starting', detail: 'no container yet', replicas: { ready: 0, desired: 1 }, containers: ids };
  const phases = containers.map((c): [ServicePhase, string] => {
    const { Status: status, ExitCode: exit, Health: health } = c.State;
    if (status === 'running') {
      if (!health) return ['running', 'running'];
      if (health.Status === 'healthy') return ['healthy', 'running (healthy)'];
      if (health.Status === 'unhealthy') return ['failed', 'running (unhealthy)'];
      return ['starting', `running (health: ${health.Status})`];
    }
    // A service with a health check is meant to keep running: its end is a failure, even exit 0.
    const checked = (c.Config.Healthcheck?.Test ?? [])[0] !== undefined && c.Config.Healthcheck!.Test![0] !== 'NONE';
    if (status === 'exited' && exit === 0 && !checked) return ['completed', 'exited (0)'];
    if (status === 'exited' && checked && !restarts(c)) return ['failed', `exited (${exit})`];
    if (status === 'exited' || status === 'dead') return [c.RestartCount >= RESTARTS_TOLERATED || !restarts(c) ? 'failed' : 'starting', `${status} (${exit})`];
    if (status === 'restarting') return [c.RestartCount >= RESTARTS_TOLERATED ? 'failed' : 'starting', `restarting (${c.RestartCount} restarts, last exit ${exit})`];
    return ['starting', status];
  });
  const order: ServicePhase[] = ['failed', 'starting', 'running', 'healthy', 'completed'];
  const worst = phases.reduce((a, b) => (order.indexOf(b[0]) < order.indexOf(a[0]) ? b : a));
  const ready = phases.filter(([phase]) => isReady({ phase })).length;
  return { service, phase: worst[0], detail: containers.length > 1 ? `${worst[1]}, ${containers.length} containers` : worst[1], replicas: { ready, desired: containers.length }, containers: ids };
}

function restarts(container: InspectedContainer): boolean {
  const policy = (container as unknown as { HostConfig?: { RestartPolicy?: { Name?: string } } }).HostConfig?.RestartPolicy?.Name;
  return policy !== undefined && policy !== '' && policy !== 'no';
}

interface SwarmServiceLine {
  Name: string;
  Replicas: string;
}

/** The state of each service of a Swarm stack, from its replica counts and its tasks' errors. */
export async function swarmStatus(runner: Runner, stack: string, expected: readonly string[]): Promise<DockerServiceStatus[]> {
  const lines = (await runChecked(runner, docker('stack', 'services', '--format', '{{json .}}', stack), 'docker stack services')).stdout.split('\n').filter(Boolean);
  const services = new Map(lines.map((line) => JSON.parse(line) as SwarmServiceLine).map((s) => [s.Name.slice(stack.length + 1), s]));
  const statuses: DockerServiceStatus[] = [];
  for (const service of expected) {
    const found = services.get(service);
    if (!found) {
      statuses.push({ service, phase: 'starting', detail: 'not created yet', replicas: { ready: 0, desired: 1 }, containers: [] });
      continue;
    }
    const [running, desired] = found.Replicas.split(' ')[0]!.split('/').map(Number);
    const tasks = await runner(docker('service', 'ps', '--no-trunc', '--format', '{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}', `${stack}_${service}`));
    const failures = tasks.stdout.split('\n').filter((l) => /\tFailed|\tRejected/.test(l));
    const completed = tasks.stdout.split('\n').filter((l) => l.startsWith('Shutdown\tComplete')).length;
    const replicas = { ready: running ?? 0, desired: desired ?? 0 };
    if (desired !== undefined && running === desired && desired > 0) statuses.push({ service, phase: 'running', detail: `${running}/${desired} tasks`, replicas, containers: [] });
    // A service whose tasks finished cleanly: all of them done counts as all ready.
    else if (desired === 0 || (completed > 0 && running === 0)) statuses.push({ service, phase: 'completed', detail: `${found.Replicas}`, replicas: { ready: replicas.desired, desired: replicas.desired }, containers: [] });
    else if (failures.length >= RESTARTS_TOLERATED) statuses.push({ service, phase: 'failed', detail: `${found.Replicas} tasks; ${failures[0]!.split('\t').slice(1).join(': ')}`, replicas, containers: [] });
    else statuses.push({ service, phase: 'starting', detail: `${found.Replicas} tasks`, replicas, containers: [] });
  }
  return statuses;
}

/** The last lines a container (or Swarm service) logged, for a failure report. */
export async function lastLogLines(runner: Runner, target: { container?: string; swarmService?: string }, lines: number): Promise<string> {
  const command = target.container ? docker('logs', '--tail', String(lines), target.container) : docker('service', 'logs', '--no-task-ids', '--tail', String(lines), target.swarmService!);
  const result = await runner(command);
  return `${result.stdout}${result.stderr}`.trimEnd();
}
