/** `smartmeter up`: combine, then deploy on Compose, Swarm or Helm and wait until every service is ready. */
import { UsageError } from '../errors.js';
import { parseDuration } from '../parsers.js';
import { printStatus, progressUi } from '../runtime/report.js';
import { runtimeFor, type UpRequest } from '../runtime/runtime.js';
import { checkName, stateRoot } from '../runtime/state.js';

export interface UpOptions {
  location?: string;
  clusterMode?: string;
  secretMode?: string;
  targets: string[];
  properties?: string;
  set: string[];
  runtime: string;
  name: string;
  /** The state root; default $SMARTMETER_STATE_DIR, else $XDG_STATE_HOME/smartmeter, else ~/.local/state/smartmeter. */
  stateDir?: string;
  secretsDir: string;
  timeout: string;
  keepOnFailure?: boolean;
  dryRun?: boolean;
  publishMode: string;
  namespace: string;
  json?: boolean;
  /** Services of the combined stack not to deploy (e.g. one without an image here). */
  without?: string[];
  /** helm: values files layered over the generated values. */
  values?: string[];
  /** No notices on stderr (progress lines, warnings and errors are still printed). */
  quiet?: boolean;
}

export async function runUp(options: UpOptions): Promise<void> {
  const runtime = await runtimeFor(options.runtime);
  checkName(options.name);
  if (options.publishMode !== 'ingress' && options.publishMode !== 'host') throw new UsageError(`--publish-mode must be ingress or host, got "${options.publishMode}"`);
  const request: UpRequest = {
    stack: { location: options.location, clusterMode: options.clusterMode, secretMode: options.secretMode, targets: options.targets, properties: options.properties, set: options.set, quiet: options.quiet },
    name: options.name,
    stateRoot: stateRoot(options.stateDir),
    secretsDir: options.secretsDir,
    timeoutMs: parseDuration(options.timeout, '--timeout'),
    keepOnFailure: options.keepOnFailure === true,
    publishMode: options.publishMode,
    namespace: options.namespace,
    values: options.values ?? [],
    without: options.without ?? [],
  };
  if (options.dryRun) {
    process.stdout.write(await runtime.plan(request));
    return;
  }
  const ui = await progressUi(options.json === true);
  const deployment = await runtime.deploy(request, ui);
  printStatus(await runtime.wait(deployment, ui), options.json === true);
}
