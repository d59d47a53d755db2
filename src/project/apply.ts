/**
 * Hands the project file's values to a parsed command, under what the user typed:
 * flags > environment > project file > defaults. Commander records where each option value
 * came from ('cli', 'env', 'default', …); a value from the file is set with the source 'config'
 * only where that source is unset or 'default'. The positional words (location, cluster-mode,
 * secret-mode, targets) have no source in commander: the ones typed fill the slots from the
 * left, the file fills the slots left over.
 */
import type { Argument, Option } from 'commander';
import { maskCredentials, maskUrlPasswords } from '../secrets.js';
import { PROJECT_ENV, PROJECT_KEY_NAMES as KEY_NAMES } from './keys.js';
import type { ProjectChoice, ProjectFile, ProjectValue } from './project-file.js';

/**
 * What of a commander command this module uses: a structural type, so that a command built
 * with `commander` or with `@commander-js/extra-typings` fits.
 */
export interface ConfigurableCommand {
  readonly options: readonly Option[];
  readonly registeredArguments: readonly Argument[];
  /** The operands typed on the command line (before processing). */
  args: string[];
  /** The values the action handler receives, one per registered argument. */
  processedArgs: unknown[];
  name(): string;
  getOptionValue(key: string): unknown;
  getOptionValueSource(key: string): string | undefined;
  setOptionValueWithSource(key: string, value: unknown, source: 'config'): unknown;
}

/** The project key an option stands for: its long flag without the dashes (negated flags: none). */
function keyOfOption(option: Option): string | undefined {
  if (option.negate || !option.long) return undefined;
  const key = option.long.replace(/^--/, '');
  return KEY_NAMES.has(key) ? key : undefined;
}

/** True when the command has an option or argument the project file can set (up, combine, down, status, logs). */
export function takesProjectSettings(command: ConfigurableCommand): boolean {
  // init writes the file; it does not read one (its arguments are the words it writes).
  if (command.name() === 'init') return false;
  return command.options.some((o) => keyOfOption(o) !== undefined) || command.registeredArguments.some((a) => KEY_NAMES.has(a.name()));
}

/**
 * Where the positional words came from, per command: set by applyProjectFile, read by
 * explainSettings. (Commander keeps sources for options only.)
 */
const argumentSources = new WeakMap<ConfigurableCommand, Map<string, 'cli' | 'config'>>();

/**
 * Applies `project` to a parsed `command`, before its action runs (a preAction hook):
 * - every option whose long flag is a project key and whose value source is unset or 'default'
 *   takes the file's value, with the source 'config';
 * - every registered argument named as a project key and not typed on the command line (the
 *   typed operands fill the arguments from the left) takes the file's value, in
 *   `command.processedArgs`, which commander passes to the action handler after the hook.
 * Keys the command has no option or argument for are left alone. Returns nothing; throws nothing.
 */
export function applyProjectFile(command: ConfigurableCommand, project: ProjectFile | undefined): void {
  const sources = new Map<string, 'cli' | 'config'>();
  argumentSources.set(command, sources);
  command.registeredArguments.forEach((argument, index) => {
    if (command.args.length > index) {
      sources.set(argument.name(), 'cli');
      return;
    }
    const setting = project?.settings.get(argument.name());
    if (!setting) return;
    command.processedArgs[index] = argument.variadic ? asList(setting.value) : asWord(setting.value);
    sources.set(argument.name(), 'config');
  });
  if (!project) return;
  for (const option of command.options) {
    const key = keyOfOption(option);
    const setting = key === undefined ? undefined : project.settings.get(key);
    if (!setting) continue;
    const attribute = option.attributeName();
    const source = command.getOptionValueSource(attribute);
    if (source !== undefined && source !== 'default') continue; // typed, or from the environment
    command.setOptionValueWithSource(attribute, setting.value, 'config');
  }
}

const asList = (value: ProjectValue): string[] => (Array.isArray(value) ? value : [value]);
const asWord = (value: ProjectValue): string => (Array.isArray(value) ? value.join(' ') : value);

/**
 * Where the project file came from and where it was looked for, for --explain: one line.
 */
function describeProject(project: ProjectFile | undefined, choice: ProjectChoice): string {
  if (!project) return choice.flag === false ? 'project file: none (--no-project)' : `project file: none (no smartmeter.yaml from ${choice.cwd} up to /)`;
  const how = project.how === 'flag' ? '--project' : project.how === 'env' ? PROJECT_ENV : 'found walking up';
  return `project file: ${project.file} (${how})`;
}

/**
 * The --explain text: for each argument and option of `command` that has a value, the value
 * and where it came from: `argument`, `flag --name`, `env VAR`, `<file>:<line>` or `default`.
 * Credentials are masked (a `--set NATS_PASSWORD=…`, a URL password). Lines end with "\n".
 */
export function explainSettings(command: ConfigurableCommand, project: ProjectFile | undefined, choice: ProjectChoice, displayPath: (file: string, cwd: string) => string): string {
  const rows: [string, string, string][] = [];
  const fromFile = (key: string) => {
    const setting = project?.settings.get(key);
    return setting && project ? `${displayPath(project.file, choice.cwd)}:${setting.line}` : 'project file';
  };
  const sources = argumentSources.get(command);
  command.registeredArguments.forEach((argument, index) => {
    const name = argument.name();
    const value = command.processedArgs[index];
    const source = sources?.get(name);
    const shown = value === undefined || (Array.isArray(value) && value.length === 0) ? '(not set)' : show(value);
    rows.push([name, shown, source === 'cli' ? 'argument' : source === 'config' ? fromFile(name) : 'not given']);
  });
  for (const option of command.options) {
    const attribute = option.attributeName();
    if (attribute === 'explain' || option.long === '--help') continue;
    const value = command.getOptionValue(attribute);
    if (value === undefined) continue;
    const source = command.getOptionValueSource(attribute);
    const name = (option.long ?? option.short ?? attribute).replace(/^-+/, '');
    const origin =
      source === 'cli' ? `flag ${option.long ?? option.short}` : source === 'env' ? `env ${option.envVar}` : source === 'config' ? fromFile(keyOfOption(option) ?? name) : (source ?? 'default');
    rows.push([name, show(value), origin]);
  }
  const width = Math.max(...rows.map(([name]) => name.length));
  const valueWidth = Math.min(40, Math.max(...rows.map(([, value]) => value.length)));
  const header = `settings of \`${command.name()}\` (flag > environment > project file > default); ${describeProject(project, choice)}`;
  return `${[header, ...rows.map(([name, value, origin]) => `  ${name.padEnd(width)}  ${value.padEnd(valueWidth)}  ${origin}`)].join('\n')}\n`;
}

/** A value as --explain prints it: a list space-separated (or "(none)"), credentials masked. */
function show(value: unknown): string {
  if (Array.isArray(value)) return value.length ? (maskCredentials(value.map(String)) as string[]).join(' ') : '(none)';
  if (value === true) return 'yes';
  if (value === false) return 'no';
  return maskUrlPasswords(String(value));
}

/**
 * The whole preAction step for `command`: unless the command takes no project setting, find
 * the project file (`choice`), read and check it, apply it (applyProjectFile) and, when the
 * command's --explain is on, write explainSettings on stderr. Throws a UsageError (exit 2) for
 * a project file that is missing (when named) or wrong.
 */
export async function useProjectFile(command: ConfigurableCommand, choice: ProjectChoice): Promise<ProjectFile | undefined> {
  if (!takesProjectSettings(command)) return undefined;
  // Loaded only for the commands that take a setting: the checks use the combine engine's word lists.
  const { displayPath, loadProjectFile, locateProjectFile } = await import('./project-file.js');
  const located = locateProjectFile(choice);
  const project = located ? loadProjectFile(located.file, located.how, choice.cwd) : undefined;
  applyProjectFile(command, project);
  if (command.getOptionValue('explain') === true) process.stderr.write(explainSettings(command, project, choice, displayPath));
  return project;
}
