/** `smartmeter up`: combine, then deploy on Compose, Swarm or Helm and wait until every service is ready. */
import { Command, Option } from '@commander-js/extra-typings';
import { collect, collectList, durationHelp, jsonOption, quietOption, withExamples, withStackOptions } from '../cli-kit.js';
import { UsageError } from '../errors.js';
import { parseDuration } from '../parsers.js';
import { printStatus, progressUi } from '../runtime/report.js';
import { runtimeFor, type UpRequest } from '../runtime/runtime.js';
import { checkName, stateRoot } from '../runtime/state.js';
import type { StackRequest } from '../combine/stack.js';

/** The command's name on the command line (cli.ts builds only the named command's definition). */
export const name = 'up';

/** The command line of `up`: its words, options and help. */
function definition() {
  return withExamples(
    withStackOptions(
      new Command(name)
        .summary('combine and deploy a stack on Compose, Swarm or Kubernetes (Helm), then wait until it is healthy')
        .description(
          'Combine the targets (as `combine` does) and deploy the result: `docker ' +
            'compose up` (or docker-compose v1), `docker stack deploy` on a Swarm ' +
            'manager, or `helm upgrade --install` of the project\'s chart with values from ' +
            'the same targets. Creates the external network the stack expects and binds ' +
            'the secret files (secrets mode), then waits until every service is healthy ' +
            '(or running without a health check, or done), printing each service\'s ' +
            'changes. On failure it names the service, prints its last log lines (and, ' +
            'on Kubernetes, its events) and removes a stack it created, unless ' +
            '--keep-on-failure; a stack that ran before is left as it is (Helm: rolled ' +
            'back to its previous revision).',
        )
        .argument('[location]', 'local or remote')
        .argument('[cluster-mode]', 'single or cluster')
        .argument('[secret-mode]', 'secrets or no_secrets')
        .argument('[targets...]', 'targets of the hierarchy (see combine --list-targets)'),
    )
      .addOption(new Option('--runtime <runtime>', 'where to deploy').choices(['compose', 'swarm', 'helm'] as const).default('compose' as 'compose' | 'swarm' | 'helm'))
      .option('-p, --properties <dir>', 'directory of property files overriding the defaults')
      .option('--set <key=value>', 'set a property (repeatable)', collect, [] as string[])
      .option('--secrets-dir <dir>', 'directory of the secret files (secrets mode)', 'devsecrets')
      .option('--timeout <time>', durationHelp('how long to wait for the services to be healthy'), '5m')
      .option('--keep-on-failure', 'leave a failed deployment in place to look at it')
      .addOption(new Option('--publish-mode <mode>', 'swarm: ports and service names through the routing mesh (ingress), or on the task\'s node with DNS round robin (host: for hosts without IPVS)').choices(['ingress', 'host'] as const).default('ingress' as 'ingress' | 'host'))
      .option('--namespace <ns>', 'helm: Kubernetes namespace (created when missing; down --volumes removes it then)', 'smartmeter')
      .option('-f, --values <file>', 'helm: a values file layered over the generated values (repeatable; later wins), as helm -f', collect, [] as string[])
      .option('--without <services>', 'leave these services of the stack out (comma-separated, repeatable), e.g. one whose image this cluster lacks', collectList, [] as string[])
      .option('--dry-run', 'print the generated file and the commands instead of running them')
      .option('--explain', 'print on stderr each setting and where it came from (flag, env, smartmeter.yaml:line, default)')
      .addOption(jsonOption('the final state of the stack, as status --json: {"runtime", "name", "namespace", "ready", "services": [...]}'))
      .addOption(quietOption()),
    [
      'smartmeter up local single no_secrets cassandra_inject inject',
      'smartmeter up local single secrets root_metrics inject cassandra_inject --secrets-dir ./devsecrets --timeout 10m',
      'smartmeter up local single secrets inject cassandra_inject --runtime swarm --publish-mode host',
      'smartmeter up local cluster secrets inject cassandra_inject --runtime helm --namespace meters',
      'smartmeter up local single no_secrets root_metrics inject cassandra_inject --runtime helm --without grafana',
      'smartmeter up local single no_secrets inject --dry-run',
    ],
  );
}

/** `up`, ready to register: calls `runUp` with the options as parsed and the positional words. */
export function command() {
  return definition().action(async (location, clusterMode, secretMode, targets, options) => {
    await runUp({ location, clusterMode, secretMode, targets, ...options });
  });
}

/** The words, targets and property sources (as combine takes them), and how to deploy. */
export interface UpOptions extends Omit<StackRequest, 'allowMissing'> {
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
