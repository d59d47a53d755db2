/**
 * Layered properties: the `.properties` files of the old templater (shell assignments that
 * bash used to `source`), flat YAML dictionaries (`properties*.yml`, the old `((key))`
 * values), the environment and `--set`. A later layer overrides an earlier one.
 *
 * Values are parsed once into parts and resolved lazily, after every layer is known, so an
 * override of NATS_NAME in a `-p` directory also changes every value built from it. A value
 * that refers to its own name reads the previous layer's value (`PATH=${PATH}:x`).
 * Commands are never run: `$(date +%s)` is the only command substitution accepted (it is in
 * old override directories), and it means "now" as given by the caller.
 */
import { FAILSAFE_SCHEMA } from 'js-yaml';
import { loadYamlDocument as loadYaml } from '../yaml-load.js';
import { UsageError, formatLocation, type SourceLocation } from '../errors.js';

export type PropertySource =
  | ({ kind: 'file' } & SourceLocation)
  | { kind: 'env' }
  | { kind: 'set' }
  | { kind: 'builtin' };

export type ValuePart =
  | { type: 'text'; text: string }
  | { type: 'ref'; name: string; fallback?: ValuePart[]; fallbackWhenEmpty?: boolean }
  | { type: 'now' };

export interface PropertyDefinition {
  key: string;
  parts: ValuePart[];
  source: PropertySource;
}

export interface ResolvedProperty {
  key: string;
  value: string;
  source: PropertySource;
  /** Earlier definitions this one replaced, oldest first. */
  overridden: PropertySource[];
  /** Names this value refers to that no layer defines (they expanded to nothing). */
  undefinedRefs: string[];
  /** The other properties this value was built from, directly. */
  references: ResolvedProperty[];
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

export function describeSource(source: PropertySource): string {
  switch (source.kind) {
    case 'file':
      return formatLocation(source);
    case 'env':
      return 'environment';
    case 'set':
      return '--set';
    case 'builtin':
      return 'built-in';
  }
}

/** A shell variable name: what bash assigns on the left of `=` (other keys are commands to it). */
const SHELL_VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** `export NAME…` without `=`, and an optional comment. */
const EXPORT_NAMES = /^[A-Za-z_][A-Za-z0-9_]*(?:[ \t]+[A-Za-z_][A-Za-z0-9_]*)*(?:[ \t]+#.*)?[ \t]*$/;

/**
 * Names bash gives values of its own (`$RANDOM`, `$LINENO`, `$UID`, `$_`, `$BASH_VERSION`, …).
 * smartmeter runs no shell, so it could only read them as empty. PATH, PWD, SHLVL, SHELL, TERM
 * and HOME are not here: in a real run they come from the environment, to bash and to smartmeter.
 */
const BASH_OWN = new Set([
  '_', 'BASH', 'BASHOPTS', 'BASHPID', 'COMP_WORDBREAKS', 'DIRSTACK', 'EPOCHREALTIME', 'EPOCHSECONDS', 'EUID',
  'GROUPS', 'HISTCMD', 'HOSTNAME', 'HOSTTYPE', 'IFS', 'LINENO', 'MACHTYPE', 'OPTERR', 'OPTIND', 'OSTYPE',
  'PIPESTATUS', 'PPID', 'PS4', 'RANDOM', 'SECONDS', 'SHELLOPTS', 'SRANDOM', 'UID',
  // Set only inside functions, so compgen -v does not list it; an assignment to it is lost.
  'FUNCNAME',
]);

function isBashOwn(name: string): boolean {
  return BASH_OWN.has(name) || name.startsWith('BASH_');
}

/**
 * Parses the text of a `.properties` file: lines `KEY=value` or `export KEY=value`, the value one
 * shell word (see parseShellWord), comments, blank lines; `export NAME…` alone changes no value
 * (as in bash) and gives nothing. Throws a UsageError naming file:line for anything else.
 */
export function parsePropertiesFile(text: string, file: string): PropertyDefinition[] {
  const definitions: PropertyDefinition[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((rawLine, index) => {
    const line = rawLine.replace(/\r$/, '');
    const where = { file, line: index + 1 };
    // Only blanks before the word: a trailing `\ ` is part of the value.
    const trimmed = line.replace(/^[ \t]+/, '');
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const exported = /^export[ \t]+/.exec(trimmed);
    const body = exported ? trimmed.slice(exported[0].length) : trimmed;
    if (exported && EXPORT_NAMES.test(body)) return;
    const eq = body.indexOf('=');
    const key = eq > 0 ? body.slice(0, eq) : '';
    // Messages name the key, never the value: it may be a password.
    if (eq <= 0) throw new UsageError(`${formatLocation(where)}: expected KEY=value, found no "="`);
    if (!SHELL_VARIABLE.test(key)) {
      throw new UsageError(`${formatLocation(where)}: expected KEY=value, "${truncate(key)}" is not a shell variable name`);
    }
    if (isBashOwn(key)) throw new UsageError(`${formatLocation(where)}: ${key} is a variable of bash itself; choose another name`);
    const parts = parseShellWord(body.slice(eq + 1), { ...where, key });
    definitions.push({ key, parts, source: { kind: 'file', ...where } });
  });
  return definitions;
}

/**
 * Parses the right-hand side of an assignment as bash reads it, for the forms property files use:
 * unquoted text, '…', "…", backslash escapes, $NAME, ${NAME}, ${NAME:-word} and ${NAME-word}
 * (the word quoted, escaped and nested as bash reads it: `${U:-a\}b}`, `${U:-"x}y"}`) and
 * $(date +%s). Anything after the word must be a comment. Every other form that bash would not
 * read as plain text is an error, never kept literally: $'…', $"…", special parameters ($1, $$,
 * …), bash's own variables, arithmetic, other command substitutions, quotes inside "${…}", a
 * tilde that bash expands, unquoted ; & | < > ( ) (but a `>` ending the value, see value()), and a
 * \ continuing the line.
 */
function parseShellWord(input: string, where: SourceLocation & { key: string }): ValuePart[] {
  return new ShellWordParser(input, (what) => {
    throw new UsageError(`${formatLocation(where)}: ${where.key}: ${what}`);
  }).value();
}

const CONTINUATION = 'line continuation with \\ is not supported; put the value on one line';
const TILDE = 'an unquoted ~ at the start of a word or after ":" is expanded by bash to a home directory; quote it';
const BACKQUOTE = 'command substitution with backquotes is not supported';
const USE_SUPPORTED = '(use ${NAME}, ${NAME:-default} or ${NAME-default})';

/** Text and expansions in order, adjacent text joined. */
class PartsBuilder {
  private readonly result: ValuePart[] = [];
  private pending = '';

  text(text: string): void {
    this.pending += text;
  }

  part(part: ValuePart): void {
    this.flush();
    this.result.push(part);
  }

  parts(): ValuePart[] {
    this.flush();
    return this.result;
  }

  private flush(): void {
    if (this.pending) this.result.push({ type: 'text', text: this.pending });
    this.pending = '';
  }
}

/** Characters that mean only themselves outside quotes (not a blank, quote, escape, expansion, `~`, `:` or operator). */
const PLAIN_UNQUOTED = /[^ \t'"\\$`~:;&|<>()]+/y;
/** Characters that mean only themselves inside "…". */
const PLAIN_DOUBLE_QUOTED = /[^"\\$`]+/y;

class ShellWordParser {
  private i = 0;

  constructor(
    private readonly input: string,
    private readonly fail: (what: string) => never,
  ) {}

  /** The whole value: one word, then blanks and an optional comment. */
  value(): ValuePart[] {
    const out = new PartsBuilder();
    let tildeExpands = true;
    while (this.i < this.input.length) {
      // A run of characters that mean only themselves is copied whole (a character at a time,
      // the property files cost a twentieth of combine's start-up).
      PLAIN_UNQUOTED.lastIndex = this.i;
      const plain = PLAIN_UNQUOTED.exec(this.input)?.[0];
      if (plain) {
        out.text(plain);
        this.i += plain.length;
        tildeExpands = false;
        continue;
      }
      const c = this.input[this.i]!;
      if (c === ' ' || c === '\t') {
        const rest = this.input.slice(this.i).replace(/^[ \t]+/, '');
        if (rest === '' || rest.startsWith('#')) break;
        this.fail('unquoted space in the value; quote it');
      }
      if (c === '~' && tildeExpands) this.fail(TILDE);
      tildeExpands = c === ':';
      if (c === '>' && this.endsWord(this.i + 1)) {
        // NATS subjects end in the wildcard `>`, and the shipped files write them unquoted
        // (`smartmeter.extract.>`). bash rejects such a line (a redirection to nothing), so
        // reading the `>` as text gives no value bash would give differently.
        out.text(c);
        this.i += 1;
      } else if (';&|<>()'.includes(c)) {
        this.fail(`an unquoted "${c}" is an operator in bash, not text; quote it`);
      } else {
        this.unquoted(out);
      }
    }
    return out.parts();
  }

  private endsWord(at: number): boolean {
    return at >= this.input.length || this.input[at] === ' ' || this.input[at] === '\t';
  }

  /** One character, quoted string, escape or expansion outside double quotes. */
  private unquoted(out: PartsBuilder): void {
    const c = this.input[this.i]!;
    if (c === "'") {
      const end = this.input.indexOf("'", this.i + 1);
      if (end < 0) this.fail('unterminated single quote');
      out.text(this.input.slice(this.i + 1, end));
      this.i = end + 1;
    } else if (c === '"') {
      this.doubleQuoted(out);
    } else if (c === '\\') {
      const next = this.input[this.i + 1];
      if (next === undefined) this.fail(CONTINUATION);
      out.text(next!);
      this.i += 2;
    } else if (c === '$') {
      this.expansion(out, false);
    } else if (c === '`') {
      this.fail(BACKQUOTE);
    } else {
      out.text(c);
      this.i += 1;
    }
  }

  /** "…": a backslash escapes only " \ $ and `. */
  private doubleQuoted(out: PartsBuilder): void {
    this.i += 1;
    while (this.i < this.input.length) {
      PLAIN_DOUBLE_QUOTED.lastIndex = this.i;
      const plain = PLAIN_DOUBLE_QUOTED.exec(this.input)?.[0];
      if (plain) {
        out.text(plain);
        this.i += plain.length;
        continue;
      }
      const d = this.input[this.i]!;
      if (d === '"') {
        this.i += 1;
        return;
      }
      if (d === '\\') this.escapeInQuotes(out, '"\\$`');
      else if (d === '$') this.expansion(out, true);
      else if (d === '`') this.fail(BACKQUOTE);
      else {
        out.text(d);
        this.i += 1;
      }
    }
    this.fail('unterminated double quote');
  }

  private escapeInQuotes(out: PartsBuilder, escapable: string): void {
    const next = this.input[this.i + 1];
    if (next === undefined) this.fail(CONTINUATION);
    if (escapable.includes(next!)) {
      out.text(next!);
      this.i += 2;
    } else {
      out.text('\\');
      this.i += 1;
    }
  }

  /** `$…` at the cursor; `quoted` when inside "…". */
  private expansion(out: PartsBuilder, quoted: boolean): void {
    const start = this.i;
    const next = this.input[start + 1];
    if (this.input.startsWith('$(date +%s)', start)) {
      out.part({ type: 'now' });
      this.i += '$(date +%s)'.length;
      return;
    }
    if (next === '(') {
      this.fail(this.input[start + 2] === '(' ? 'arithmetic $((…)) is not supported' : 'command substitution $(…) is not supported (only $(date +%s))');
    }
    if (next === '[') this.fail('arithmetic $[…] is not supported');
    if (next === '{') {
      this.i += 2;
      this.braced(out, quoted);
      return;
    }
    // Inside "…", `$'` and `$"` are a plain `$` followed by a quote.
    if (!quoted && next === "'") this.fail("$'…' quoting is not supported");
    if (!quoted && next === '"') this.fail('$"…" quoting is not supported');
    if (next !== undefined && /[0-9@*#?$!-]/.test(next)) this.fail(`the special parameter $${next} is not supported`);
    const name = SHELL_NAME.exec(this.input.slice(start + 1))?.[0];
    if (!name) {
      // `$` before anything else (`a$`, `$/`) is a plain `$` to bash too.
      out.text('$');
      this.i += 1;
      return;
    }
    this.checkReference(name);
    out.part({ type: 'ref', name });
    this.i += 1 + name.length;
  }

  /** `${…}` after the `${`. */
  private braced(out: PartsBuilder, quoted: boolean): void {
    const name = SHELL_NAME.exec(this.input.slice(this.i))?.[0];
    if (!name) {
      const c = this.input[this.i];
      if (c === undefined) this.fail('unterminated ${…}');
      this.fail(`unsupported expansion \${${c}…} ${USE_SUPPORTED}`);
    }
    this.checkReference(name!);
    this.i += name!.length;
    const op = this.input[this.i];
    if (op === undefined) this.fail('unterminated ${…}');
    if (op === '}') {
      out.part({ type: 'ref', name: name! });
      this.i += 1;
      return;
    }
    const whenEmpty = op === ':' && this.input[this.i + 1] === '-';
    if (!whenEmpty && op !== '-') {
      const shown = op === ':' && this.input[this.i + 1] !== '}' ? this.input.slice(this.i, this.i + 2) : op;
      this.fail(`unsupported expansion \${${name}${shown}…} ${USE_SUPPORTED}`);
    }
    this.i += whenEmpty ? 2 : 1;
    const fallback = quoted ? this.quotedBraceWord() : this.braceWord();
    out.part({ type: 'ref', name: name!, fallback, fallbackWhenEmpty: whenEmpty });
  }

  /**
   * The word of ${NAME:-word} outside "…": read as an unquoted word (quotes removed, blanks and
   * ; | & kept), up to the first unquoted `}`. bash counts no other braces: `${U-{x}y}` is `{xy}`.
   */
  private braceWord(): ValuePart[] {
    const out = new PartsBuilder();
    let tildeExpands = true;
    while (this.i < this.input.length) {
      const c = this.input[this.i]!;
      if (c === '}') {
        this.i += 1;
        return out.parts();
      }
      if (c === '~' && tildeExpands) this.fail(TILDE);
      tildeExpands = c === ':';
      this.unquoted(out);
    }
    return this.fail('unterminated ${…}');
  }

  /**
   * The word of "${NAME:-word}": a backslash also escapes `}` there. bash keeps single quotes
   * there yet matches them, and nests double quotes: both are refused rather than imitated.
   */
  private quotedBraceWord(): ValuePart[] {
    const out = new PartsBuilder();
    while (this.i < this.input.length) {
      const d = this.input[this.i]!;
      if (d === '}') {
        this.i += 1;
        return out.parts();
      }
      if (d === '\\') this.escapeInQuotes(out, '"\\$`}');
      else if (d === '$') this.expansion(out, true);
      else if (d === '`') this.fail(BACKQUOTE);
      else if (d === "'" || d === '"') {
        this.fail('quotes inside "${…}" are not supported (bash reads them its own way there); drop the outer double quotes');
      } else {
        out.text(d);
        this.i += 1;
      }
    }
    return this.fail('unterminated ${…}');
  }

  private checkReference(name: string): void {
    if (isBashOwn(name)) this.fail(`${name} is a variable of bash itself; smartmeter runs no shell to read it`);
  }
}

/**
 * Parses a flat YAML dictionary (the old `properties*.yml`): every value must be a scalar.
 * Values are read as written (failsafe schema), so a tag `2.10` stays "2.10", not 2.1.
 */
export function parseYamlDictionary(text: string, file: string): PropertyDefinition[] {
  let data: unknown;
  try {
    data = loadYaml(text, { filename: file, schema: FAILSAFE_SCHEMA });
  } catch (error) {
    throw new UsageError(yamlErrorMessage(error, file));
  }
  if (data === null || data === undefined) return [];
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new UsageError(`${file}: expected a map of key: value`);
  }
  const keyLines = firstLineOfEachKey(text);
  return Object.entries(data as Record<string, unknown>).map(([key, value]) => {
    // Line 0 (unknown) when the key is written in a form we do not look for; messages then show the file only.
    const where = { file, line: keyLines.get(key) ?? 0 };
    if (value !== null && typeof value === 'object') {
      throw new UsageError(`${formatLocation(where)}: value of ${key} must be a single value, not a list or map`);
    }
    return { key, parts: [{ type: 'text', text: value === null || value === undefined ? '' : String(value) }], source: { kind: 'file', ...where } };
  });
}

/**
 * Maps each key written as `key:`, `"key":`, `'key':` or `? key` at the start of a line to the
 * 1-based line it first appears on. One pass over the text: a pattern per key, tried on every
 * line, cost a twentieth of `combine` for the old properties files.
 */
function firstLineOfEachKey(text: string): Map<string, number> {
  const keyLines = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^\s*(?:\?\s*)?(["']?)(.+?)\1\s*(?::|$)/.exec(lines[i]!);
    if (match && !keyLines.has(match[2]!)) keyLines.set(match[2]!, i + 1);
  }
  return keyLines;
}

export function yamlErrorMessage(error: unknown, file: string): string {
  const e = error as { mark?: { line: number; column: number }; reason?: string; message?: string };
  if (e.mark) return `${file}:${e.mark.line + 1}: invalid YAML: ${e.reason ?? 'syntax error'} (column ${e.mark.column + 1})`;
  return `${file}: invalid YAML: ${e.message ?? String(error)}`;
}

/** A literal definition, for the environment and --set layers (never expanded). */
export function literalDefinition(key: string, value: string, source: PropertySource): PropertyDefinition {
  return { key, parts: [{ type: 'text', text: value }], source };
}

/** Parses `--set KEY=value` arguments. */
export function parseSetArguments(args: readonly string[]): PropertyDefinition[] {
  return args.map((arg) => {
    const eq = arg.indexOf('=');
    const key = eq > 0 ? arg.slice(0, eq) : '';
    if (eq <= 0) throw new UsageError('--set expects KEY=value, found no "="');
    if (!KEY.test(key)) throw new UsageError(`--set expects KEY=value, "${truncate(key)}" is not a valid key`);
    return literalDefinition(key, arg.slice(eq + 1), { kind: 'set' });
  });
}

/**
 * All layers, in order, with lazy resolution. `resolve` returns undefined for a key no
 * layer defines; a reference chain that loops is an error naming the loop.
 */
export class PropertyStore {
  private readonly layers = new Map<string, PropertyDefinition[]>();
  private readonly cache = new Map<string, ResolvedProperty | undefined>();

  constructor(private readonly now: number) {}

  add(definitions: Iterable<PropertyDefinition>): void {
    for (const definition of definitions) {
      const stack = this.layers.get(definition.key) ?? [];
      stack.push(definition);
      this.layers.set(definition.key, stack);
    }
    this.cache.clear();
  }

  has(key: string): boolean {
    return this.layers.has(key);
  }

  keys(): string[] {
    return [...this.layers.keys()];
  }

  /** True when a properties file (not only the environment or --set) defines `key`. */
  definedInFile(key: string): boolean {
    return (this.layers.get(key) ?? []).some((d) => d.source.kind === 'file');
  }

  resolve(key: string): ResolvedProperty | undefined {
    if (this.cache.has(key)) return this.cache.get(key);
    const stack = this.layers.get(key);
    const resolved = stack ? this.resolveAt(key, stack.length - 1, []) : undefined;
    this.cache.set(key, resolved);
    return resolved;
  }

  private resolveAt(key: string, depth: number, chain: string[]): ResolvedProperty | undefined {
    const stack = this.layers.get(key);
    const definition = stack?.[depth];
    if (!stack || !definition) return undefined;
    const marker = `${key}@${depth}`;
    if (chain.includes(marker)) {
      const names = [...chain.slice(chain.indexOf(marker)), marker].map((m) => m.split('@')[0]);
      throw new UsageError(`properties refer to each other in a loop: ${names.join(' → ')} (${describeSource(definition.source)})`);
    }
    const undefinedRefs: string[] = [];
    const references: ResolvedProperty[] = [];
    const value = this.evaluate(definition.parts, key, depth, [...chain, marker], { undefinedRefs, references });
    return {
      key,
      value,
      source: definition.source,
      overridden: stack.slice(0, depth).map((d) => d.source),
      undefinedRefs,
      references,
    };
  }

  private evaluate(
    parts: ValuePart[],
    key: string,
    depth: number,
    chain: string[],
    found: { undefinedRefs: string[]; references: ResolvedProperty[] },
  ): string {
    const { undefinedRefs, references } = found;
    let out = '';
    for (const part of parts) {
      if (part.type === 'text') out += part.text;
      else if (part.type === 'now') out += String(this.now);
      else {
        // A reference to its own name means the value the previous layer gave.
        const target =
          part.name === key ? this.resolveAt(key, depth - 1, chain) : this.resolveTop(part.name, chain);
        const value = target?.value;
        const useFallback = part.fallback !== undefined && (value === undefined || (part.fallbackWhenEmpty && value === ''));
        if (useFallback) out += this.evaluate(part.fallback!, key, depth, chain, found);
        else if (value === undefined) undefinedRefs.push(part.name);
        else out += value;
        if (target && !useFallback) {
          undefinedRefs.push(...target.undefinedRefs);
          references.push(target);
        }
      }
    }
    return out;
  }

  private resolveTop(name: string, chain: string[]): ResolvedProperty | undefined {
    const stack = this.layers.get(name);
    if (!stack) return undefined;
    return this.resolveAt(name, stack.length - 1, chain);
  }
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
