/** `smartmeter combine`: its definition (words, options, help), then the handler: call the engine, print. */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { collect, jsonOption, quietOption, withExamples, type OptionsOf } from '../cli-kit.js';
import { UsageError } from '../errors.js';
import { containsCredentials } from '../secrets.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { writeStdout } from '../stdio.js';
import { COMPOSE_TEMPLATES_DIR, CONFIG_TEMPLATES_DIR } from '../paths.js';
import { stackConfigContext, writeConfigFiles } from '../combine/config-files.js';
import { loadHierarchy } from '../combine/engine.js';
import { combineStack } from '../combine/stack.js';
import { HELM_SECRET_VALUES, helmValues, needsRootWarnings, notInChartWarning } from '../combine/helm-values.js';
import { formatCompose, formatExplanation, formatHelmValues, formatTargetList } from '../combine/output.js';

/** The command's name on the command line (cli.ts builds only the named command's definition). */
export const name = 'combine';

/** The command line of `combine`: its words, options and help. */
function definition() {
  return withExamples(
    new Command(name)
      .summary('print the docker-compose file for a set of targets')
      .description(
        'Expand targets through the services hierarchy, layer the properties files, fill the ' +
          'fragments\' ((key)) and ${VAR} placeholders and merge them into one docker-compose file ' +
          'that both `docker compose` and `docker stack deploy` accept.',
      )
      .argument('[location]', 'local or remote (remote adds Swarm placement constraints)')
      .argument('[cluster-mode]', 'single or cluster')
      .argument('[secret-mode]', 'secrets (credentials from compose secrets) or no_secrets (from the environment)')
      .argument('[targets...]', 'targets of the hierarchy (see --list-targets)')
      .option('-p, --properties <dir>', 'directory of property files overriding the defaults')
      .option('-o, --output <file>', 'write to this file (atomically) instead of stdout')
      .option('--set <key=value>', 'set a property, over every file and the environment (repeatable)', collect, [] as string[])
      .option('--explain', 'print on stderr each setting and where it came from (flag, env, smartmeter.yaml:line, default), then every property and its file:line')
      .addOption(jsonOption('the merged compose document (with --format helm: the Helm values; with --list-targets: [{"target", "expandsTo": [...]}])'))
      .addOption(new Option('--format <format>', 'output format').choices(['compose', 'helm'] as const).default('compose' as 'compose' | 'helm'))
      .option('--allow-missing', 'leave unresolved placeholders in the output instead of failing')
      .option('--list-targets', 'list the targets and what they expand to, then exit')
      .option('--templates <dir>', 'use another compose templates directory (hierarchy.yml, fragments/, properties/)')
      .option('--config-dir <dir>', 'also write the stack\'s configuration files (Grafana provisioning and dashboards) there; the stack mounts them from SMARTMETER_CONFIG_DIR (default ./config)')
      .addOption(quietOption())
      .option('-e', 'accepted for old scripts (`combine_services -e …`); properties are always applied'),
    [
      'smartmeter combine local single secrets root_metrics inject streaming_metrics prediction_metrics > docker-compose-merge.yml',
      'smartmeter combine -p alt_properties local cluster no_secrets inject cassandra_inject -o stack.yml',
      'smartmeter combine -p alt_properties -e local single secrets root inject          # old spelling',
      'smartmeter combine local single no_secrets inject --set GATLING_USERS_PER_SEC=2000 --explain',
      'smartmeter combine --list-targets --json',
    ],
  );
}

/** What `runCombine` takes: the parsed options and the positional words. */
export type CombineOptions = OptionsOf<typeof definition> & { location?: string; clusterMode?: string; secretMode?: string; targets: string[] };

/** `combine`, ready to register. */
export function command() {
  return definition().action(async (location, clusterMode, secretMode, targets, options) => {
    await runCombine({ location, clusterMode, secretMode, targets, ...options });
  });
}

export async function runCombine(options: CombineOptions): Promise<void> {
  const templatesDir = options.templates ? resolve(options.templates) : COMPOSE_TEMPLATES_DIR;
  const displayRoot = process.cwd();
  if (options.listTargets) {
    writeStdout(formatTargetList(loadHierarchy(templatesDir, displayRoot), options.json === true));
    return;
  }
  if (options.output !== undefined && options.output.trim() === '') throw new UsageError('-o needs a file name');
  const { result, modes } = combineStack(options, templatesDir);
  const { location, clusterMode, secretMode } = modes;

  let text: string;
  if (options.format === 'helm') {
    const helm = helmValues(result.document, clusterMode, result.property);
    const leftOut = notInChartWarning(helm.notInChart);
    if (leftOut) process.stderr.write(`${leftOut}\n`);
    for (const line of needsRootWarnings(helm.needsRoot)) process.stderr.write(`${line}\n`);
    if (secretMode === 'secrets') {
      process.stderr.write(`smartmeter: secrets mode: the credentials are not in the values; pass them with ${Object.entries(HELM_SECRET_VALUES).map(([file, key]) => `--set-file ${key}=devsecrets/${file}`).join(' ')} (smartmeter up --runtime helm does)\n`);
    }
    text = options.json ? `${JSON.stringify(helm.values, null, 2)}\n` : formatHelmValues(helm.values, { modes, targets: options.targets });
  } else {
    text = options.json
      ? `${JSON.stringify(result.document, null, 2)}\n`
      : formatCompose(result, { modes: { location, clusterMode, secretMode }, targets: options.targets });
  }
  if (options.explain) process.stderr.write(formatExplanation(result.explanation, colorOnStderr()));
  for (const placeholder of result.unresolved) process.stderr.write(`smartmeter: warning: left unresolved: ${placeholder}\n`);
  for (const warning of result.warnings) process.stderr.write(`smartmeter: warning: ${warning}\n`);
  // Nothing is written until all of it can be: the output's directory is checked first, then the
  // configuration files go (each atomically), then the output.
  if (options.output && options.configDir !== undefined) checkWritableDirectory(dirname(resolve(options.output)), '-o');
  if (options.configDir !== undefined) {
    const written = writeConfigFiles(CONFIG_TEMPLATES_DIR, resolve(options.configDir), stackConfigContext(result));
    process.stderr.write(`smartmeter: wrote ${written.length} configuration files under ${options.configDir} (mounted from SMARTMETER_CONFIG_DIR)\n`);
  }
  if (options.output) {
    // Inline credentials (no_secrets mode) make the file a secret too.
    writeFileAtomic(options.output, text, { mode: result.containsSecrets || containsCredentials(text) ? 0o600 : 0o644 });
  } else {
    writeStdout(text);
  }
}

/** Throws a UsageError naming `flag` when `dir` is not an existing directory this process can write. */
function checkWritableDirectory(dir: string, flag: string): void {
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`${flag}: cannot write into ${dir}: ${code === 'ENOENT' ? 'no such directory' : code === 'EACCES' ? 'permission denied' : 'not a directory'}`);
  }
}

/** Colour only on a terminal, and never with --no-color, NO_COLOR or TERM=dumb (cli.ts sets FORCE_COLOR=0 for those). */
function colorOnStderr(): boolean {
  return process.stderr.isTTY === true && process.env.FORCE_COLOR !== '0';
}
