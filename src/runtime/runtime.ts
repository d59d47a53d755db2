/**
 * One interface for the three runtimes `up`, `down`, `status` and `logs` deploy on: Docker
 * Compose and Docker Swarm (docker-stack.ts) and Kubernetes through Helm (helm-stack.ts). The
 * commands call a Runtime from runtimeFor() and never branch on the runtime themselves.
 */
import { UsageError } from '../errors.js';
import type { StackRequest } from '../combine/stack.js';
import { RUNTIMES, type RuntimeName, type StackRecord } from './state.js';

export { RUNTIMES, type RuntimeName } from './state.js';

/** Where a service is: waiting to be ready, ready (with or without a health check), finished cleanly, or failed. */
export type ServicePhase = 'starting' | 'healthy' | 'running' | 'completed' | 'failed';

/** Replica counts of a service: those ready or finished cleanly, of those wanted. */
export interface Replicas {
  ready: number;
  desired: number;
}

/** A service's state as every runtime reports it (a Compose service, a Swarm service, a chart component). */
export interface ServiceStatus {
  service: string;
  phase: ServicePhase;
  /** What the engine says: "running (healthy)", "exited (1)", "1/1 tasks", "pending (0/1 ready, ContainerCreating)". */
  detail: string;
  replicas: Replicas;
}

/** A service is ready when it is healthy, running without a health check, or finished cleanly. */
export const isReady = (s: Pick<ServiceStatus, 'phase'>): boolean => s.phase === 'healthy' || s.phase === 'running' || s.phase === 'completed';

/**
 * A stack's state: what `status` and `up` print, and, as JSON, one shape on every runtime:
 *
 *   { "runtime": "compose" | "swarm" | "helm",
 *     "name": string,                       the project, stack or release name
 *     "namespace": string | null,           Kubernetes namespace (null on Compose and Swarm)
 *     "ready": boolean,                     every service ready (and, on Helm, the release deployed)
 *     "services": [ { "name": string,       Compose/Swarm service, or chart component
 *                     "state": "starting" | "healthy" | "running" | "completed" | "failed",
 *                     "detail": string,     the engine's words
 *                     "replicas": { "ready": number, "desired": number } } ] }
 */
export interface StackStatus {
  runtime: RuntimeName;
  name: string;
  namespace: string | null;
  ready: boolean;
  services: ServiceStatus[];
  /** A line printed above the table (Helm: the release's revision and state); not part of the JSON. */
  headline?: string;
}

/** What `up` asks of a runtime: the combine request, and how to deploy it. */
export interface UpRequest {
  /** The three words, the targets and the property sources (as `combine`). */
  stack: StackRequest;
  /** Project, stack or release name (checked). */
  name: string;
  /** The state root (absolute; see state.ts). */
  stateRoot: string;
  /** Directory of the secret files (secrets mode). */
  secretsDir: string;
  /** How long `wait` waits for every service to be ready, in milliseconds. */
  timeoutMs: number;
  /** On failure, leave what was deployed in place. */
  keepOnFailure: boolean;
  /** Swarm: ports on the routing mesh, or on the task's node. */
  publishMode: 'ingress' | 'host';
  /** Helm: the namespace (checked). */
  namespace: string;
  /** Helm: the user's values files, layered over the generated ones. */
  values: string[];
  /** Services of the combined stack left out. */
  without: string[];
}

/** How a runtime talks to the user while it works (stderr). */
export interface Ui {
  /** A notice or a report, as whole lines. */
  log: (line: string) => void;
  /** Called on every poll while waiting, with each service's state. */
  progress: (statuses: readonly ServiceStatus[]) => void;
}

/** What `deploy` started, for `wait`: the record written, and the runtime's own bookkeeping. */
export interface Deployment {
  record: StackRecord;
  /** The stack's directory in the state root. */
  dir: string;
}

export interface LogsOptions {
  follow: boolean;
  /** Lines of history to start with. */
  tail: number;
}

export interface RemoveOptions {
  /** Also the volumes (Compose, Swarm) or volume claims and the namespace `up` created (Helm). */
  volumes: boolean;
  log: (line: string) => void;
}

export interface Runtime {
  readonly name: RuntimeName;
  /**
   * `up --dry-run`: the file `deploy` would write (credentials masked), what it would do with the
   * secret files, then the commands, as text for stdout. Writes nothing, deploys nothing.
   * Usage errors for requests this runtime cannot take.
   */
  plan(request: UpRequest): Promise<string>;
  /**
   * Combines, writes the stack's files and record into the state root and starts the deployment
   * (compose up, stack deploy, helm upgrade --install). Engine unreachable, image missing: a
   * RuntimeError, nothing left behind.
   */
  deploy(request: UpRequest, ui: Ui): Promise<Deployment>;
  /**
   * Waits (up to the request's timeout) until every service is ready, printing each change
   * through ui.progress. On failure: a report of the failed service (its state, its last log
   * lines, on Kubernetes its events) through ui.log, then the deployment undone (unless
   * keepOnFailure or the stack ran before), then a RuntimeError naming the service.
   */
  wait(deployment: Deployment, ui: Ui): Promise<StackStatus>;
  /** The stack's state now. Engine unreachable: a RuntimeError. */
  status(record: StackRecord): Promise<StackStatus>;
  /** Streams a service's log to stdout/stderr; resolves to the tool's exit code. */
  logs(record: StackRecord, service: string, options: LogsOptions): Promise<number>;
  /** Removes what `up` deployed (not the stack's directory: the caller removes it with the record). */
  remove(record: StackRecord, options: RemoveOptions): Promise<void>;
}

/** The combine words and targets of an up, as its record keeps them (for `stacks`). */
export function combineWords(request: UpRequest): Pick<StackRecord, 'location' | 'clusterMode' | 'secretMode' | 'targets'> {
  return { location: request.stack.location, clusterMode: request.stack.clusterMode, secretMode: request.stack.secretMode, targets: request.stack.targets };
}

/** The runtime called `name`; anything else is a usage error. Its module is loaded only now. */
export async function runtimeFor(name: string): Promise<Runtime> {
  if (!RUNTIMES.includes(name as RuntimeName)) throw new UsageError(`--runtime must be ${RUNTIMES.join(', ')}, got "${name}"`);
  if (name === 'helm') return (await import('./helm-stack.js')).helmRuntime;
  const { dockerRuntime } = await import('./docker-stack.js');
  return dockerRuntime(name as 'compose' | 'swarm');
}
