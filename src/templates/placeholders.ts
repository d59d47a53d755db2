/**
 * Placeholders in compose fragments, and how they are filled.
 *
 * Two syntaxes are filled, both from the same layered dictionary:
 *   ((key))                    the old build-time dictionary (image names and tags)
 *   ${NAME}  $NAME  ${NAME:-default}  ${NAME-default}   the old `.properties` values
 * Everything else passes through untouched:
 *   $$        compose's escape for a literal `$` (e.g. `$$(cat /run/secrets/x)` in a command)
 *   {{ … }}   Go templates for Swarm (`{{.Task.Slot}}`), Grafana or Helm: literal text here
 *
 * Handlebars is the engine: the strings of a fragment are translated into one template whose
 * only expressions are our placeholders (literal `{{`, and a `\` before a mustache, become
 * helpers), so the same engine can later carry helpers for the Helm values. The shipped
 * fragments are precompiled at build time (`npm run build`), so a run only needs the small
 * Handlebars runtime; other templates (`--templates`) are compiled on the fly.
 * A value that contains `$` is written as `$$`, so Compose does not interpolate it again.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import HandlebarsRuntimeModule from 'handlebars/runtime.js';
import { PRECOMPILED } from './precompiled.js';

export type PlaceholderSyntax = 'dollar' | 'parens';

export interface Placeholder {
  syntax: PlaceholderSyntax;
  key: string;
  /** The text as written, kept when the value is missing and missing values are allowed. */
  raw: string;
  /** `${NAME:-default}` / `${NAME-default}`: text used when the key is unset (or empty for `:-`). */
  fallback?: string;
  fallbackWhenEmpty?: boolean;
}

export interface FoundPlaceholder extends Placeholder {
  line: number;
}

type Token = { type: 'text'; text: string } | { type: 'placeholder'; placeholder: Placeholder };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const BRACED = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/;

/** Splits one line (or any text without `((`…`))` across lines) into text and placeholders. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let literal = '';
  let i = 0;
  const push = (placeholder: Placeholder) => {
    if (literal) tokens.push({ type: 'text', text: literal });
    literal = '';
    tokens.push({ type: 'placeholder', placeholder });
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '$') {
      if (text[i + 1] === '$') {
        literal += '$$';
        i += 2;
        continue;
      }
      const rest = text.slice(i);
      const braced = BRACED.exec(rest);
      if (braced) {
        const [raw, key, operator, fallback] = braced;
        push({
          syntax: 'dollar',
          key: key!,
          raw,
          ...(operator ? { fallback: fallback ?? '', fallbackWhenEmpty: operator === ':-' } : {}),
        });
        i += raw.length;
        continue;
      }
      const bare = NAME.exec(rest.slice(1));
      if (bare) {
        push({ syntax: 'dollar', key: bare[0], raw: `$${bare[0]}` });
        i += 1 + bare[0].length;
        continue;
      }
      literal += c;
      i += 1;
    } else if (c === '(' && text[i + 1] === '(') {
      const end = text.indexOf('))', i + 2);
      if (end < 0) {
        literal += c;
        i += 1;
        continue;
      }
      // As the old templater: trim, then strip any further leading/trailing parentheses.
      let close = end + 2;
      while (text[close] === ')') close += 1;
      const raw = text.slice(i, close);
      const key = raw.trim().replace(/^\(+/, '').replace(/\)+$/, '').trim();
      push({ syntax: 'parens', key, raw });
      i = close;
    } else {
      literal += c;
      i += 1;
    }
  }
  if (literal) tokens.push({ type: 'text', text: literal });
  return tokens;
}

/** Every placeholder of a file, with its line number (1-based). */
export function scanPlaceholders(text: string): FoundPlaceholder[] {
  const found: FoundPlaceholder[] = [];
  text.split('\n').forEach((line, index) => {
    for (const token of tokenize(line)) {
      if (token.type === 'placeholder') found.push({ ...token.placeholder, line: index + 1 });
    }
  });
  return found;
}

export interface RenderResult {
  text: string;
  /** Keys that were filled from the dictionary. */
  used: string[];
  /** Placeholders with no value and no fallback (left as written). */
  missing: Placeholder[];
}

interface CompiledText {
  template: (context: object, options: { helpers: Record<string, (...args: never[]) => unknown> }) => string;
  placeholders: Placeholder[];
}

// The runtime module ships without its own typings; it has the same API minus compile.
const runtime = (HandlebarsRuntimeModule as unknown as typeof import('handlebars')).create();
const compiled = new Map<string, CompiledText>();

/** The Handlebars source for `text`, and the placeholders its `p` helper indexes. */
export function toHandlebarsSource(text: string): { source: string; placeholders: Placeholder[] } {
  const placeholders: Placeholder[] = [];
  let source = '';
  // Handlebars treats a backslash right before `{{` as an escape, and any `{{` as a
  // mustache; both must stay literal, so they become helper calls.
  const mustache = (expression: string) => {
    if (source.endsWith('\\')) source = `${source.slice(0, -1)}{{{backslash}}}`;
    source += `{{{${expression}}}}`;
  };
  for (const token of tokenize(text)) {
    if (token.type === 'text') {
      token.text.split('{{').forEach((piece, index) => {
        if (index > 0) mustache('open');
        source += piece;
      });
    } else {
      mustache(`p ${placeholders.length}`);
      placeholders.push(token.placeholder);
    }
  }
  return { source, placeholders };
}

export const HANDLEBARS_OPTIONS = { noEscape: true, strict: true } as const;

export function sourceHash(source: string): string {
  return createHash('sha256').update(source).digest('hex');
}

function compile(text: string): CompiledText {
  const cached = compiled.get(text);
  if (cached) return cached;
  const { source, placeholders } = toHandlebarsSource(text);
  const spec = PRECOMPILED[sourceHash(source)];
  const template = spec
    ? runtime.template(new Function(`return ${spec}`)() as TemplateSpecification)
    : compileWithFullHandlebars(source);
  const entry = { template, placeholders };
  compiled.set(text, entry);
  return entry;
}

type TemplateSpecification = Parameters<typeof runtime.template>[0];

/** Templates not shipped with smartmeter need the compiler, loaded only then. */
function compileWithFullHandlebars(source: string): CompiledText['template'] {
  const Handlebars = createRequire(import.meta.url)('handlebars') as typeof import('handlebars');
  return Handlebars.create().compile(source, HANDLEBARS_OPTIONS);
}

/**
 * Fills the placeholders of `text`. `lookup` returns the value of a key, or undefined when
 * no layer defines it.
 */
export function renderText(text: string, lookup: (key: string) => string | undefined): RenderResult {
  const { texts, used, missing } = renderTexts([text], lookup);
  return { text: texts[0]!, used, missing };
}

/**
 * Fills many texts at once (all the strings of one fragment): one template is compiled for
 * the lot, which keeps `combine` of the whole stack well under a tenth of a second.
 */
export function renderTexts(
  texts: readonly string[],
  lookup: (key: string) => string | undefined,
): { texts: string[]; used: string[]; missing: Placeholder[] } {
  const pending = texts.filter(mayHavePlaceholders);
  const batch = batchText(texts);
  if (batch === undefined) return { texts: [...texts], used: [], missing: [] };
  const { template, placeholders } = compile(batch);
  const used: string[] = [];
  const missing: Placeholder[] = [];
  const values = placeholders.map((placeholder) => {
    const value = lookup(placeholder.key);
    const useFallback =
      placeholder.fallback !== undefined && (value === undefined || (placeholder.fallbackWhenEmpty && value === ''));
    if (useFallback) return escapeDollars(placeholder.fallback!);
    if (value === undefined) {
      missing.push(placeholder);
      return placeholder.raw;
    }
    used.push(placeholder.key);
    return escapeDollars(value);
  });
  const helpers = { p: (index: number) => values[index], open: () => '{{', backslash: () => '\\' };
  const rendered = template({}, { helpers }).split(SEPARATOR);
  const byText = new Map(pending.map((text, index) => [text, rendered[index]!]));
  return { texts: texts.map((text) => byText.get(text) ?? text), used, missing };
}

function mayHavePlaceholders(text: string): boolean {
  return text.includes('$') || text.includes('((');
}

/** The one text a batch of texts is compiled as (undefined when none has a placeholder). */
export function batchText(texts: readonly string[]): string | undefined {
  const pending = texts.filter(mayHavePlaceholders);
  return pending.length === 0 ? undefined : pending.join(SEPARATOR);
}

/** Joins the texts of one batch; it cannot occur in YAML text. */
const SEPARATOR = '\u0001';

function escapeDollars(value: string): string {
  return value.replaceAll('$', '$$$$');
}
