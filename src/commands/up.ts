// ---- The command line of `up` (owned by the CLI; the handler below is the runtime's) ----
import { Command, Option } from '@commander-js/extra-typings';
import { collect, collectList, durationHelp, jsonOption, quietOption, withExamples, withStackOptions } from '../cli-kit.js';

/** The command line of `up`: its words, options and help. */
function definition() {
  return withExamples(
    withStackOptions(
      new Command('up')
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
      .addOption(jsonOption('the final state of the services, [{"service", "phase", "detail"}]'))
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
// ---- end of the command line of `up` ----

/** `smartmeter up`: combine, then deploy on Compose, Swarm or Helm and wait until healthy. */
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { parseDuration } from '../parsers.js';
import { CONFIG_TEMPLATES_DIR } from '../paths.js';
import type { ServiceStatus } from '../runtime/docker.js';
import { formatCommand, spawnRunner, type CommandLine } from '../runtime/exec.js';
import { describeSecretsAccess, RUNTIMES, stackDir, withoutServices, type RuntimeName } from '../runtime/stack-files.js';
import { dockerUp, planDockerUp } from '../runtime/stack.js';
import { stackConfigContext, writeConfigFiles } from '../combine/config-files.js';
import { maskCredentials } from '../secrets.js';
import type { YamlMap } from '../combine/merge.js';
import { formatCompose } from '../combine/output.js';
import { combineStack } from '../combine/stack.js';
import { printStatuses } from './status.js';

export interface UpOptions {
  location?: string;
  clusterMode?: string;
  secretMode?: string;
  targets: string[];
  properties?: string;
  set: string[];
  runtime: string;
  name: string;
  stateDir: string;
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
  const runtime = checkRuntime(options.runtime);
  if (runtime === 'helm') {
    const { runHelmUp } = await import('./up-helm.js');
    await runHelmUp(options);
    return;
  }
  if (options.values?.length) throw new UsageError('--values is for --runtime helm (Compose and Swarm take properties: -p, --set)');
  if (options.publishMode !== 'ingress' && options.publishMode !== 'host') throw new UsageError(`--publish-mode must be ingress or host, got "${options.publishMode}"`);
  const timeoutMs = parseDuration(options.timeout, '--timeout');
  const dir = stackDir(options.stateDir, options.name);
  // The metrics services mount their configuration from SMARTMETER_CONFIG_DIR: the stack's own copy.
  const configDir = join(dir, 'config');
  const combined = combineStack({ ...options, set: [`SMARTMETER_CONFIG_DIR=${configDir}`, ...options.set] });
  const { modes } = combined;
  const result = { ...combined.result, document: withoutServices(combined.result.document, options.without ?? []) };
  if (runtime === 'compose' && modes.clusterMode === 'cluster') {
    // Its replicas take their slot from Swarm's {{.Task.Slot}}, which Compose leaves as it is.
    throw new UsageError('cluster mode needs --runtime swarm or helm (its services number their replicas with Swarm task slots)');
  }
  for (const warning of result.warnings) process.stderr.write(`smartmeter: warning: ${warning}\n`);
  const request = {
    runtime,
    name: options.name,
    stateDir: options.stateDir,
    document: result.document,
    render: () => formatCompose(result, { modes, targets: options.targets }),
    containsSecrets: result.containsSecrets,
    secretsDir: options.secretsDir,
    timeoutMs,
    keepOnFailure: options.keepOnFailure === true,
    publishMode: options.publishMode,
    writeStackFiles: () => void writeConfigFiles(CONFIG_TEMPLATES_DIR, configDir, stackConfigContext(result)),
    ownImageRepository: result.property('docker-smartmeter-repository'),
  } as const;

  if (options.dryRun) {
    const plan = await planDockerUp({ ...request, render: (document) => formatCompose({ ...result, document: maskCredentials(document) as YamlMap }, { modes, targets: options.targets }) }, spawnRunner);
    process.stdout.write(dryRunText(plan.file, plan.text, result.containsSecrets, plan.commands, describeSecretsAccess(plan.secrets)));
    return;
  }
  const statuses = await dockerUp(request, spawnRunner, await progressUi(options.json === true));
  printStatuses(statuses, options.json === true);
}

export function checkRuntime(runtime: string): RuntimeName {
  if (!RUNTIMES.includes(runtime as RuntimeName)) throw new UsageError(`--runtime must be ${RUNTIMES.join(', ')}, got "${runtime}"`);
  return runtime as RuntimeName;
}

/** On a terminal a spinner with every service's state; otherwise one line per change of state. */
export async function progressUi(quiet: boolean): Promise<{ log: (line: string) => void; progress: (statuses: readonly ServiceStatus[]) => void }> {
  const spinner = process.stderr.isTTY && !quiet ? (await import('ora')).default({ text: 'deploying', stream: process.stderr }).start() : undefined;
  const seen = new Map<string, string>();
  return {
    log: (line) => {
      if (spinner) spinner.clear();
      process.stderr.write(`${line}\n`);
      spinner?.render();
    },
    progress: (statuses) => {
      if (spinner) {
        const ready = statuses.filter((s) => s.phase !== 'starting').length;
        spinner.text = `${ready}/${statuses.length} ready · ${statuses.map((s) => `${s.service}: ${s.detail}`).join(' · ')}`;
        if (ready === statuses.length || statuses.some((s) => s.phase === 'failed')) spinner.stop();
        return;
      }
      for (const s of statuses) {
        if (seen.get(s.service) !== s.detail && !quiet) process.stderr.write(`${s.service}: ${s.detail}\n`);
        seen.set(s.service, s.detail);
      }
    },
  };
}

/**
 * What --dry-run prints, for every runtime: the file (its credentials already masked), what up
 * would do with the secret files (comment lines, if anything), then the commands.
 */
export function dryRunText(file: string, maskedText: string, containsSecrets: boolean, commands: readonly CommandLine[], secretNotes: readonly string[] = []): string {
  const secrets = secretNotes.length ? `# secret files\n${secretNotes.map((l) => `# ${l}`).join('\n')}\n` : '';
  return `# ${file}${containsSecrets ? ' (credentials masked here)' : ''}\n${maskedText}\n${secrets}# commands\n${commands.map(formatCommand).join('\n')}\n`;
}
