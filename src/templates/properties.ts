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
import { FAILSAFE_SCHEMA, load as loadYaml } from 'js-yaml';
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

/** Parses the text of a `.properties` file (shell assignment syntax). */
export function parsePropertiesFile(text: string, file: string): PropertyDefinition[] {
  const definitions: PropertyDefinition[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((rawLine, index) => {
    const line = rawLine.replace(/\r$/, '');
    const where = { file, line: index + 1 };
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const body = trimmed.startsWith('export ') ? trimmed.slice(7).trimStart() : trimmed;
    const eq = body.indexOf('=');
    const key = eq > 0 ? body.slice(0, eq) : '';
    // Messages name the key, never the value: it may be a password.
    if (eq <= 0) throw new UsageError(`${formatLocation(where)}: expected KEY=value, found no "="`);
    if (!KEY.test(key)) throw new UsageError(`${formatLocation(where)}: expected KEY=value, "${truncate(key)}" is not a valid key`);
    const parts = parseShellWord(body.slice(eq + 1), { ...where, key });
    definitions.push({ key, parts, source: { kind: 'file', ...where } });
  });
  return definitions;
}

/**
 * Parses the right-hand side of an assignment the way bash would for the forms that
 * property files use: unquoted, '…', "…", backslash escapes, $NAME, ${NAME},
 * ${NAME:-default}, ${NAME-default}. Anything after the word must be a comment.
 */
function parseShellWord(input: string, where: SourceLocation & { key: string }): ValuePart[] {
  const parts: ValuePart[] = [];
  let text = '';
  let i = 0;
  const flush = () => {
    if (text) parts.push({ type: 'text', text });
    text = '';
  };
  const fail = (what: string): never => {
    throw new UsageError(`${formatLocation(where)}: ${where.key}: ${what}`);
  };
  while (i < input.length) {
    const c = input[i]!;
    if (c === ' ' || c === '\t') {
      const rest = input.slice(i).trim();
      if (rest === '' || rest.startsWith('#')) break;
      fail('unquoted space in the value; quote it');
    } else if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) fail('unterminated single quote');
      text += input.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i += 1;
      let closed = false;
      while (i < input.length) {
        const d = input[i]!;
        if (d === '"') {
          closed = true;
          i += 1;
          break;
        }
        if (d === '\\' && i + 1 < input.length && '"\\$`'.includes(input[i + 1]!)) {
          text += input[i + 1];
          i += 2;
        } else if (d === '$') {
          flush();
          i = parseExpansion(input, i, parts, fail);
        } else {
          text += d;
          i += 1;
        }
      }
      if (!closed) fail('unterminated double quote');
    } else if (c === '\\') {
      if (i + 1 < input.length) text += input[i + 1];
      i += 2;
    } else if (c === '$') {
      flush();
      i = parseExpansion(input, i, parts, fail);
    } else if (c === '`') {
      fail('command substitution with backquotes is not supported');
    } else {
      text += c;
      i += 1;
    }
  }
  flush();
  return parts;
}

/** Parses one `$…` expansion starting at `start`; returns the index after it. */
function parseExpansion(input: string, start: number, parts: ValuePart[], fail: (what: string) => never): number {
  const after = input.slice(start + 1);
  if (after.startsWith('(date +%s)')) {
    parts.push({ type: 'now' });
    return start + 1 + '(date +%s)'.length;
  }
  if (after.startsWith('(')) fail('command substitution $(…) is not supported (only $(date +%s))');
  if (after.startsWith('{')) {
    const close = findClosingBrace(input, start + 2);
    if (close < 0) fail('unterminated ${…}');
    const inner = input.slice(start + 2, close);
    const name = SHELL_NAME.exec(inner)?.[0];
    if (!name) fail(`bad variable reference \${${inner}}`);
    const rest = inner.slice(name!.length);
    if (rest === '') {
      parts.push({ type: 'ref', name: name! });
    } else if (rest.startsWith(':-') || rest.startsWith('-')) {
      const whenEmpty = rest.startsWith(':-');
      const fallbackText = rest.slice(whenEmpty ? 2 : 1);
      const fallback = fallbackText === '' ? [] : parseShellWordInsideBraces(fallbackText, fail);
      parts.push({ type: 'ref', name: name!, fallback, fallbackWhenEmpty: whenEmpty });
    } else {
      fail(`unsupported expansion \${${inner}} (use \${NAME}, \${NAME:-default} or \${NAME-default})`);
    }
    return close + 1;
  }
  const name = SHELL_NAME.exec(after)?.[0];
  if (!name) {
    parts.push({ type: 'text', text: '$' });
    return start + 1;
  }
  parts.push({ type: 'ref', name });
  return start + 1 + name.length;
}

function parseShellWordInsideBraces(text: string, fail: (what: string) => never): ValuePart[] {
  const parts: ValuePart[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === '$') {
      if (literal) parts.push({ type: 'text', text: literal });
      literal = '';
      i = parseExpansion(text, i, parts, fail);
    } else {
      literal += text[i]!.replace(/["']/g, '');
      i += 1;
    }
  }
  if (literal) parts.push({ type: 'text', text: literal });
  return parts;
}

function findClosingBrace(input: string, from: number): number {
  let depth = 1;
  for (let i = from; i < input.length; i += 1) {
    if (input[i] === '{') depth += 1;
    else if (input[i] === '}') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  return -1;
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
  const lines = text.split('\n');
  return Object.entries(data as Record<string, unknown>).map(([key, value]) => {
    const pattern = new RegExp(`^\\s*(\\?\\s*)?["']?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?(\\s*:|\\s*$)`);
    // Line 0 (unknown) when the key is written in a form we do not look for; messages then show the file only.
    const where = { file, line: lines.findIndex((l) => pattern.test(l)) + 1 };
    if (value !== null && typeof value === 'object') {
      throw new UsageError(`${formatLocation(where)}: value of ${key} must be a single value, not a list or map`);
    }
    return { key, parts: [{ type: 'text', text: value === null || value === undefined ? '' : String(value) }], source: { kind: 'file', ...where } };
  });
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
