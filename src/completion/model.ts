/**
 * The command tree as completion sees it: plain data read from commander's `Command` objects
 * through their public API only (`commands`, `options`, `registeredArguments`, `createHelp()`),
 * so that a command or option added anywhere is completed without touching this code.
 */

/*
 * The few members of commander's classes read here, all public API, declared structurally so that
 * the same code serves `commander`'s and `@commander-js/extra-typings`' declarations.
 */
/** An `Option` of commander. */
export interface CommanderOption {
  readonly flags: string;
  readonly description: string;
  long?: string;
  short?: string;
  required: boolean;
  optional: boolean;
  variadic: boolean;
  defaultValue?: unknown;
  argChoices?: string[];
  attributeName(): string;
}
/** An `Argument` of commander. */
export interface CommanderArgument {
  readonly description: string;
  required: boolean;
  variadic: boolean;
  argChoices?: string[];
  name(): string;
}
/** A `Command` of commander. */
export interface CommanderCommand {
  readonly commands: readonly CommanderCommand[];
  readonly registeredArguments: readonly CommanderArgument[];
  name(): string;
  aliases(): string[];
  summary(): string;
  description(): string;
  createHelp(): {
    // `any`: commander's Help takes its own Command type, which this structural one stands for.
    visibleCommands(command: any): CommanderCommand[];
    visibleOptions(command: any): CommanderOption[];
  };
}

/** An option of a command, as the completion needs it. */
export interface OptionSpec {
  /** `--runtime` (undefined for a short-only option such as `-e`). */
  long?: string;
  /** `-p` */
  short?: string;
  /** `none`: a switch; `required`: `--x <v>` takes the next word; `optional`: `--x [v]` takes it unless it starts with `-`. */
  value: 'none' | 'required' | 'optional';
  /** The value's placeholder as written in the flags (`dir` of `<dir>`), for file and directory options. */
  valueName?: string;
  /** commander's attribute name (`stateDir` of `--state-dir`): the key of the value providers. */
  attribute: string;
  /** The allowed values (`.choices()`), if any. */
  choices?: readonly string[];
  /** May be given more than once (variadic, or collected into an array default). */
  repeatable: boolean;
  /** The default value as defined (after environment fallbacks applied at definition time). */
  defaultValue?: unknown;
  description: string;
}

/** A positional argument of a command. */
export interface ArgumentSpec {
  /** `cluster-mode` of `[cluster-mode]` */
  name: string;
  variadic: boolean;
  choices?: readonly string[];
  description: string;
}

/** A command and what it accepts. */
export interface CommandSpec {
  name: string;
  aliases: string[];
  summary: string;
  /** Options of this command (its help option included). */
  options: OptionSpec[];
  /** Options of the ancestors that are also accepted after this command's name (not their help or version). */
  inheritedOptions: OptionSpec[];
  arguments: ArgumentSpec[];
  /** Visible subcommands (hidden ones, such as `__complete`, are left out; commander's implicit `help` is in). */
  subcommands: CommandSpec[];
}

/** Reads one commander option. */
function optionSpec(option: CommanderOption): OptionSpec {
  const valueName = /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1]?.replace(/\.\.\.$/, '');
  return {
    long: option.long,
    short: option.short,
    value: option.required ? 'required' : option.optional ? 'optional' : 'none',
    valueName,
    attribute: option.attributeName(),
    choices: option.argChoices,
    repeatable: option.variadic || Array.isArray(option.defaultValue),
    defaultValue: option.defaultValue,
    description: option.description,
  };
}

function argumentSpec(argument: CommanderArgument): ArgumentSpec {
  return { name: argument.name(), variadic: argument.variadic, choices: argument.argChoices, description: argument.description };
}

/**
 * The spec of `command` and of its visible subcommands, recursively. `inherited` are the options
 * its ancestors accept anywhere on the line (commander parses a parent's options after the
 * subcommand's name too, unless positional options are enabled).
 */
export function commandSpec(command: CommanderCommand, inherited: OptionSpec[] = []): CommandSpec {
  const help = command.createHelp();
  const options = help.visibleOptions(command).map(optionSpec);
  const passedOn = [...inherited, ...options.filter((o) => o.long !== '--help' && o.long !== '--version')];
  return {
    name: command.name(),
    aliases: command.aliases(),
    summary: command.summary() || firstSentence(command.description()),
    options,
    inheritedOptions: inherited,
    arguments: command.registeredArguments.map(argumentSpec),
    subcommands: help.visibleCommands(command).map((sub) => commandSpec(sub, passedOn)),
  };
}

function firstSentence(text: string): string {
  const end = text.search(/[.:](\s|$)/);
  return end > 0 ? text.slice(0, end) : text;
}
