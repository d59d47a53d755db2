/** `smartmeter init`: write a commented smartmeter.yaml (the project file) in the working directory. */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { quietOption, withExamples, type OptionsOf } from '../cli-kit.js';
import { UsageError } from '../errors.js';

/** The command's name on the command line (cli.ts builds only the named command's definition). */
export const name = 'init';

/** What `smartmeter init` takes: the words of `up` to write into the file, and --force. */
/** The options as parsed (typed from the definition), the words typed, and where to write (default: the working directory). */
export type InitOptions = OptionsOf<typeof definition> & { location?: string; clusterMode?: string; secretMode?: string; targets?: string[]; cwd?: string };

/**
 * Writes `smartmeter.yaml` in `options.cwd` (the working directory by default), atomically,
 * with the given words active and every other key explained and commented out. Refuses
 * (UsageError, exit 2) a value the project file would refuse, and an existing project file
 * there unless `force` (which then rewrites that file, whichever spelling it has).
 * Returns the absolute path written.
 */
export async function runInit(options: InitOptions): Promise<string> {
  // Loaded here, not at registration: the engine's word lists come with them.
  const { checkProjectValue, parseProjectText, PROJECT_FILE_NAMES } = await import('../project/project-file.js');
  const { projectFileText } = await import('../project/template.js');
  const { writeFileAtomic } = await import('../fs-atomic.js');
  const cwd = options.cwd ?? process.cwd();

  const given: [key: string, value: string | string[] | undefined, what: string][] = [
    ['location', options.location, '<location>'],
    ['cluster-mode', options.clusterMode, '<cluster-mode>'],
    ['secret-mode', options.secretMode, '<secret-mode>'],
    ['targets', options.targets?.length ? options.targets : undefined, '<targets>'],
    ['runtime', options.runtime, '--runtime'],
    ['name', options.name, '--name'],
    ['properties', options.properties, '--properties'],
  ];
  const prefill: Record<string, string | string[]> = {};
  for (const [key, value, what] of given) {
    if (value === undefined) continue;
    checkProjectValue(key, value, cwd, (message) => new UsageError(`${what} ${message}`));
    prefill[key] = value; // as typed: a relative path is read from the file's directory, which is cwd
  }

  const existing = PROJECT_FILE_NAMES.map((name) => join(cwd, name)).filter((path) => existsSync(path));
  if (existing.length && !options.force) throw new UsageError(`${existing.map((path) => basename(path)).join(' and ')} already here: not overwritten (--force to replace it)`);
  if (existing.length > 1) throw new UsageError(`both ${PROJECT_FILE_NAMES.join(' and ')} are here: remove one first`);
  const file = existing[0] ?? join(cwd, PROJECT_FILE_NAMES[0]);
  const text = projectFileText(prefill);
  // What is written must read back: the same checks `up` will make.
  const settings = parseProjectText(text, file, basename(file));
  writeFileAtomic(file, text, { mode: 0o644 });
  const words = ['location', 'cluster-mode', 'secret-mode', 'targets'].map((key) => settings.get(key)?.value).flat();
  if (!options.quiet) process.stderr.write(`wrote ${basename(file)}: \`smartmeter up\` here deploys ${words.join(' ')}${prefill.runtime ? ` on ${String(prefill.runtime)}` : ''}\n`);
  return file;
}

/** The command line of `init`: its arguments, options and help. */
function definition() {
  return withExamples(
    new Command(name)
      .summary('write a commented smartmeter.yaml here, so that `smartmeter up` alone deploys')
      .description(
        'Write smartmeter.yaml (the project file) in the working directory: the words and targets of ' +
          '`up` (the quick start\'s local single no_secrets cassandra_inject inject unless given), and every ' +
          'other key commented out with what it does. up, combine, down, status and logs read it from this ' +
          'directory and those below it; flags and the environment win over it (see `up --explain`).',
      )
      .argument('[location]', 'local or remote')
      .argument('[cluster-mode]', 'single or cluster')
      .argument('[secret-mode]', 'secrets or no_secrets')
      .argument('[targets...]', 'targets of the hierarchy (see combine --list-targets)')
      .addOption(new Option('--runtime <runtime>', 'compose, swarm or helm').choices(['compose', 'swarm', 'helm']))
      .option('--name <name>', 'stack, project or release name')
      .option('-p, --properties <dir>', 'directory of property files (relative to this directory)')
      .option('--force', 'replace a project file already here')
      .addOption(quietOption()),
    [
      'smartmeter init                                             # local single no_secrets cassandra_inject inject',
      'smartmeter init local cluster secrets inject cassandra_inject --runtime helm',
      'smartmeter init --force -p alt_properties',
      'smartmeter up --explain --dry-run                           # what up would use, and from where',
    ],
  );
}

/** `init`, ready to register. */
export function command() {
  return definition().action(async (location, clusterMode, secretMode, targets, options) => {
    await runInit({ location, clusterMode, secretMode, targets, ...options });
  });
}
