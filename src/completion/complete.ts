/**
 * Answers a completion request: given the words of a command line after the program's name
 * (the last one being the word under the cursor, possibly empty), what may come there.
 * The words are read the way commander parses them (subcommands, options with required or
 * optional values, `--flag=value`, short flags with an attached value, `--`, variadic arguments).
 */
import type { ArgumentSpec, CommandSpec, OptionSpec } from './model.js';
import { PROVIDERS, type Candidate, type LineContext } from './values.js';

/**
 * `words`: the candidates are complete words (already filtered by the word being completed);
 * `files` / `dirs`: the shell should complete paths itself (it knows the file system, quoting and
 * `~` better than we do).
 */
export type Directive = 'words' | 'files' | 'dirs';

export interface Completion {
  directive: Directive;
  candidates: Candidate[];
}

/** The longest description shown beside a candidate, in characters. */
const DESCRIPTION_WIDTH = 70;

/** Completes the last of `words` (the words after `smartmeter`, as the shell split them). */
export async function complete(root: CommandSpec, words: readonly string[]): Promise<Completion> {
  const typed = words.slice(0, -1);
  const current = words.at(-1) ?? '';
  const state = walk(root, typed);
  const { command } = state;

  if (state.pending) return valueCompletion(state.pending, current, '', state.context);
  if (state.optionalPending && !current.startsWith('-')) {
    const values = await valueCompletion(state.optionalPending, current, '', state.context);
    if (values.directive !== 'words' || values.candidates.length) return values;
  }
  if (!state.operandsOnly && current.startsWith('--') && current.includes('=')) {
    const flag = current.slice(0, current.indexOf('='));
    const option = allOptions(command).find((o) => o.long === flag);
    if (!option || option.value === 'none') return none();
    return valueCompletion(option, current.slice(flag.length + 1), `${flag}=`, state.context);
  }
  if (!state.operandsOnly && current.startsWith('-')) return words_(optionCandidates(command, state.used, current), current);

  if (state.positional === 0 && command.subcommands.length) {
    const subcommands = command.subcommands.map((sub) => ({ value: sub.name, description: sub.summary }));
    return words_(subcommands, current);
  }
  // commander's implicit `help [command]` completes the names of its siblings.
  if (command.name === 'help' && command.arguments[0]?.name === 'command' && state.parent) {
    return words_(
      state.parent.subcommands.filter((sub) => sub !== command).map((sub) => ({ value: sub.name, description: sub.summary })),
      current,
    );
  }
  const argument = command.arguments[state.positional] ?? variadicLast(command);
  return argument ? valueCompletion(argument, current, '', state.context) : none();
}

interface WalkState {
  command: CommandSpec;
  parent?: CommandSpec;
  /** Operands given to `command` so far. */
  positional: number;
  /** An option whose value is the next word. */
  pending?: OptionSpec;
  /** An option whose value is the next word unless it starts with `-`. */
  optionalPending?: OptionSpec;
  /** After `--`: every word is an operand. */
  operandsOnly: boolean;
  used: Set<OptionSpec>;
  context: LineContext;
}

function walk(root: CommandSpec, typed: readonly string[]): WalkState {
  const state: WalkState = { command: root, positional: 0, operandsOnly: false, used: new Set(), context: { path: [], args: {}, options: {} } };
  const given: Record<string, unknown> = {};
  const setOption = (option: OptionSpec, value: unknown) => {
    state.used.add(option);
    const previous = given[option.attribute];
    given[option.attribute] = option.repeatable && typeof value === 'string' ? [...(Array.isArray(previous) ? previous : []), value] : value;
  };

  for (const word of typed) {
    if (state.pending) {
      setOption(state.pending, word);
      state.pending = undefined;
      continue;
    }
    const optional = state.optionalPending;
    state.optionalPending = undefined;
    if (!state.operandsOnly && word === '--') {
      state.operandsOnly = true;
      continue;
    }
    if (!state.operandsOnly && word.startsWith('-') && word !== '-') {
      for (const { option, value } of readOptionWord(state.command, word)) {
        if (value !== undefined || option.value === 'none') setOption(option, value ?? true);
        else if (option.value === 'required') state.pending = option;
        else {
          setOption(option, true);
          state.optionalPending = option;
        }
      }
      continue;
    }
    if (optional) {
      setOption(optional, word);
      continue;
    }
    const sub = state.positional === 0 ? state.command.subcommands.find((s) => s.name === word || s.aliases.includes(word)) : undefined;
    if (sub) {
      state.parent = state.command;
      state.command = sub;
      state.context.path.push(sub.name);
      continue;
    }
    const argument = state.command.arguments[state.positional] ?? variadicLast(state.command);
    if (argument) {
      const args = state.context.args;
      args[argument.name] = argument.variadic ? [...(Array.isArray(args[argument.name]) ? (args[argument.name] as string[]) : []), word] : word;
    }
    state.positional++;
  }

  // What providers see: the values typed, else each option's default (--state-dir, --name, …).
  for (const option of allOptions(state.command)) {
    state.context.options[option.attribute] = option.attribute in given ? given[option.attribute] : option.defaultValue;
  }
  return state;
}

/** The options a word stands for: `--flag`, `--flag=value`, `-p`, `-pvalue`, `-qv` (several switches). */
function readOptionWord(command: CommandSpec, word: string): { option: OptionSpec; value?: string }[] {
  const options = allOptions(command);
  if (word.startsWith('--')) {
    const eq = word.indexOf('=');
    const flag = eq < 0 ? word : word.slice(0, eq);
    const option = options.find((o) => o.long === flag);
    return option ? [{ option, value: eq < 0 ? undefined : word.slice(eq + 1) }] : [];
  }
  const found: { option: OptionSpec; value?: string }[] = [];
  for (let i = 1; i < word.length; i++) {
    const option = options.find((o) => o.short === `-${word[i]}`);
    if (!option) break;
    if (option.value !== 'none' && i + 1 < word.length) {
      found.push({ option, value: word.slice(i + 1) });
      break;
    }
    found.push({ option });
  }
  return found;
}

function allOptions(command: CommandSpec): OptionSpec[] {
  return [...command.options, ...command.inheritedOptions];
}

function variadicLast(command: CommandSpec): ArgumentSpec | undefined {
  const last = command.arguments.at(-1);
  return last?.variadic ? last : undefined;
}

/** The command's options (then its ancestors'), leaving out those already given once. */
function optionCandidates(command: CommandSpec, used: Set<OptionSpec>, current: string): Candidate[] {
  const offerShort = !current.startsWith('--');
  const candidates: Candidate[] = [];
  for (const option of allOptions(command)) {
    if (used.has(option) && !option.repeatable) continue;
    const description = shorten(option.description);
    if (option.long) candidates.push({ value: option.long, description });
    if (option.short && (offerShort || !option.long)) candidates.push({ value: option.short, description });
  }
  return candidates;
}

/** Candidates for an option's value or an argument: choices, a provider, or paths by the value's name. */
async function valueCompletion(target: OptionSpec | ArgumentSpec, current: string, prefix: string, context: LineContext): Promise<Completion> {
  const key = 'attribute' in target ? target.attribute : target.name;
  const provider = PROVIDERS[key];
  let candidates: Candidate[] | undefined;
  let list = false;
  if (target.choices?.length) candidates = target.choices.map((value) => ({ value }));
  else if (provider) {
    list = provider.list ?? false;
    try {
      candidates = await provider.candidates(context);
    } catch {
      // A hierarchy or record that cannot be read: no candidates, and no message in the prompt.
      candidates = [];
    }
  }
  if (!candidates) {
    const name = ('valueName' in target ? target.valueName : undefined) ?? ('attribute' in target ? '' : target.name);
    if (/dir/i.test(name)) return { directive: 'dirs', candidates: [] };
    if (/file|path/i.test(name)) return { directive: 'files', candidates: [] };
    return none();
  }
  // A comma-separated list (`--without grafana,prom`): complete its last item, keep the others.
  let listed = '';
  if (list && current.includes(',')) {
    listed = current.slice(0, current.lastIndexOf(',') + 1);
    const already = new Set(listed.split(','));
    candidates = candidates.filter((c) => !already.has(c.value));
  }
  const filtered = words_(candidates, current.slice(listed.length)).candidates;
  return { directive: 'words', candidates: filtered.map((c) => ({ ...c, value: `${prefix}${listed}${c.value}` })) };
}

function words_(candidates: Candidate[], current: string): Completion {
  return { directive: 'words', candidates: candidates.filter((c) => c.value.startsWith(current)) };
}

function none(): Completion {
  return { directive: 'words', candidates: [] };
}

/** The first clause of a description, cut at a word boundary to fit beside the candidate. */
function shorten(text: string): string {
  const clause = text.split(/;|\. /)[0]!.trim();
  if (clause.length <= DESCRIPTION_WIDTH) return clause;
  const cut = clause.slice(0, DESCRIPTION_WIDTH - 1);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(' '), 20))}…`;
}

/**
 * The answer as the shell scripts read it: the directive on the first line, then one candidate
 * a line, `value<TAB>description` (tabs and newlines inside either become spaces).
 */
export function formatCompletion(completion: Completion): string {
  const clean = (text: string) => text.replace(/[\t\r\n]+/g, ' ');
  const lines = completion.candidates.map((c) => (c.description ? `${clean(c.value)}\t${clean(c.description)}` : clean(c.value)));
  return `${[completion.directive, ...lines].join('\n')}\n`;
}
