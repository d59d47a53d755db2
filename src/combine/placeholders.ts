/**
 * Placeholders in compose fragments, and how they are filled.
 *
 * Two syntaxes are filled, both from the same layered dictionary:
 *   ((key))          the old build-time dictionary (image names and tags)
 *   ${NAME}  $NAME   the old `.properties` values, with Compose's forms ${NAME:-default},
 *                    ${NAME-default}, ${NAME:?message}, ${NAME?message}, ${NAME:+alt}, ${NAME+alt}
 * Everything else passes through untouched:
 *   $$        compose's escape for a literal `$` (e.g. `$$(cat /run/secrets/x)` in a command);
 *             `$$((…))` is shell arithmetic, not a ((key))
 *   {{ … }}   Go templates for Swarm (`{{.Task.Slot}}`), Grafana or Helm: literal text here
 *
 * The tokenizer below is the whole engine: a text is split once into literal text and
 * placeholders (cached per text), and rendering joins the pieces with the values filled in.
 * No template language is involved (Handlebars renders the configuration files, config-files.ts).
 * A value that contains `$` is written as `$$`, so Compose does not interpolate it again.
 */
export type PlaceholderSyntax = 'dollar' | 'parens';

export interface Placeholder {
  syntax: PlaceholderSyntax;
  key: string;
  /** The text as written, kept when the value is missing and missing values are allowed. */
  raw: string;
  /**
   * Compose's forms: `${K:-word}`/`${K-word}` default, `${K:?word}`/`${K?word}` required,
   * `${K:+word}`/`${K+word}` alternative; with `:` an empty value counts as unset.
   */
  operator?: Operator;
  /** The word after the operator; it may hold placeholders itself. */
  argument?: string;
  /** Why this `${…}` is not a placeholder we can fill (reported like a missing value). */
  invalid?: string;
}

type Operator = ':-' | '-' | ':?' | '?' | ':+' | '+';
const OPERATORS: Operator[] = [':-', ':?', ':+', '-', '?', '+'];

export interface FoundPlaceholder extends Placeholder {
  line: number;
}

type Token = { type: 'text'; text: string } | { type: 'placeholder'; placeholder: Placeholder };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
/** Where a placeholder may start; the text between two of these is copied whole, not char by char. */
const MAY_START = /\$|\(\(/g;

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
    MAY_START.lastIndex = i;
    const next = MAY_START.exec(text)?.index ?? text.length;
    literal += text.slice(i, next);
    i = next;
    if (i === text.length) break;
    const c = text[i]!;
    if (c === '$') {
      if (text[i + 1] === '$') {
        // Compose's escape; `$$((…))` is shell arithmetic, not a ((key)).
        literal += '$$';
        i += 2;
        while (text[i] === '(') literal += text[i++];
        continue;
      }
      if (text[i + 1] === '{') {
        const close = closingBrace(text, i + 2);
        const raw = close < 0 ? text.slice(i) : text.slice(i, close + 1);
        push(parseBraced(raw, close < 0));
        i += raw.length;
        continue;
      }
      const bare = NAME.exec(text.slice(i + 1));
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
    }
  }
  if (literal) tokens.push({ type: 'text', text: literal });
  return tokens;
}

/** Index of the `}` closing a `${` whose content starts at `from` (nested `${…}` allowed). */
function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i += 1) {
    if (text[i] === '$' && text[i + 1] === '{') {
      depth += 1;
      i += 1;
    } else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function parseBraced(raw: string, unterminated: boolean): Placeholder {
  if (unterminated) return { syntax: 'dollar', key: '', raw, invalid: 'no closing }' };
  const inner = raw.slice(2, -1);
  const key = NAME.exec(inner)?.[0];
  if (!key) return { syntax: 'dollar', key: '', raw, invalid: 'not a variable name' };
  const rest = inner.slice(key.length);
  if (rest === '') return { syntax: 'dollar', key, raw };
  const operator = OPERATORS.find((op) => rest.startsWith(op));
  if (!operator) return { syntax: 'dollar', key, raw, invalid: `unsupported form (use \${${key}}, :-, -, :?, ?, :+ or +)` };
  return { syntax: 'dollar', key, raw, operator, argument: rest.slice(operator.length) };
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

/** Tokens of each text seen in this process: the same fragment strings recur (image keys, hosts). */
const tokenCache = new Map<string, Token[]>();

function tokensOf(text: string): Token[] {
  let tokens = tokenCache.get(text);
  if (!tokens) {
    tokens = tokenize(text);
    tokenCache.set(text, tokens);
  }
  return tokens;
}

/**
 * Fills the placeholders of `text`. `lookup` returns the value of a key, or undefined when
 * no layer defines it.
 */
export function renderText(text: string, lookup: (key: string) => string | undefined): RenderResult {
  const { texts, used, missing } = renderTexts([text], lookup);
  return { text: texts[0]!, used, missing };
}

/** Fills many texts at once (all the strings of one fragment); `used` and `missing` cover them all, in order. */
export function renderTexts(
  texts: readonly string[],
  lookup: (key: string) => string | undefined,
): { texts: string[]; used: string[]; missing: Placeholder[] } {
  const used: string[] = [];
  const missing: Placeholder[] = [];
  const rendered = texts.map((text) => {
    if (!mayHavePlaceholders(text)) return text;
    let out = '';
    for (const token of tokensOf(text)) out += token.type === 'text' ? token.text : fill(token.placeholder, lookup, used, missing);
    return out;
  });
  return { texts: rendered, used, missing };
}

function mayHavePlaceholders(text: string): boolean {
  return text.includes('$') || text.includes('((');
}

/** The text one placeholder becomes, with Compose's semantics for the operators. */
function fill(placeholder: Placeholder, lookup: (key: string) => string | undefined, used: string[], missing: Placeholder[]): string {
  if (placeholder.invalid) {
    missing.push(placeholder);
    return placeholder.raw;
  }
  const value = lookup(placeholder.key);
  const unset = value === undefined || (placeholder.operator?.startsWith(':') === true && value === '');
  const argument = () => {
    const inner = renderTexts([placeholder.argument ?? ''], lookup);
    used.push(...inner.used);
    missing.push(...inner.missing);
    return inner.texts[0]!;
  };
  switch (placeholder.operator) {
    case ':-':
    case '-':
      if (unset) return argument();
      break;
    case ':?':
    case '?':
      if (unset) {
        missing.push(placeholder);
        return placeholder.raw;
      }
      break;
    case ':+':
    case '+':
      if (value !== undefined) used.push(placeholder.key);
      return unset ? '' : argument();
  }
  if (value === undefined) {
    missing.push(placeholder);
    return placeholder.raw;
  }
  used.push(placeholder.key);
  return escapeDollars(value);
}

/** Why a placeholder could not be filled, for messages. */
export function describeMissing(placeholder: Placeholder): string {
  if (placeholder.invalid) return `${placeholder.raw} (${placeholder.invalid})`;
  if (placeholder.operator === '?' || placeholder.operator === ':?') return `${placeholder.raw} (${placeholder.argument || 'required'})`;
  return placeholder.raw;
}

function escapeDollars(value: string): string {
  return value.replaceAll('$', '$$$$');
}
