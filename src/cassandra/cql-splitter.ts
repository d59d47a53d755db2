/**
 * Splits a CQL script into statements at the semicolons that end them, knowing what
 * cqlsh knows: `--` and `//` comments to the end of the line, `/* … *\/` comments,
 * '…' strings ('' inside), "…" identifiers ("" inside) and $$…$$ strings (function
 * bodies). A semicolon inside any of those does not end a statement, nor one between
 * BEGIN BATCH and APPLY BATCH.
 */
export interface CqlStatement {
  /** The statement without its final semicolon and without comments, trimmed. */
  text: string;
  /** Line (1-based) where the statement starts in the script. */
  line: number;
}

export class CqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

export function splitCql(script: string): CqlStatement[] {
  const statements: CqlStatement[] = [];
  let current = '';
  let startLine = 0;
  let line = 1;
  let i = 0;
  const text = script.replace(/\r\n?/g, '\n');
  const take = (chunk: string) => {
    if (startLine === 0 && chunk.trim() !== '') startLine = line;
    current += chunk;
    for (const c of chunk) if (c === '\n') line += 1;
  };
  const skip = (chunk: string) => {
    for (const c of chunk) if (c === '\n') line += 1;
    // A comment separates tokens, like a space.
    current += chunk.includes('\n') ? '\n' : ' ';
  };
  const finish = () => {
    const statement = current.trim();
    if (statement !== '') statements.push({ text: statement, line: startLine });
    current = '';
    startLine = 0;
  };
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if ((c === '-' && next === '-') || (c === '/' && next === '/')) {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      skip(text.slice(i, stop));
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new CqlSyntaxError('unterminated /* comment', line);
      skip(text.slice(i, end + 2));
      i = end + 2;
    } else if (c === "'" || c === '"') {
      const end = closingQuote(text, i, c);
      if (end < 0) throw new CqlSyntaxError(c === "'" ? 'unterminated string' : 'unterminated quoted identifier', line);
      take(text.slice(i, end + 1));
      i = end + 1;
    } else if (c === '$' && next === '$') {
      const end = text.indexOf('$$', i + 2);
      if (end < 0) throw new CqlSyntaxError('unterminated $$ string', line);
      take(text.slice(i, end + 2));
      i = end + 2;
    } else if (c === ';') {
      // Inside BEGIN … BATCH, semicolons separate the batch's statements: it ends at APPLY BATCH.
      if (/^BEGIN\s+(UNLOGGED\s+|COUNTER\s+)?BATCH\b/i.test(current.trim()) && !/\bAPPLY\s+BATCH\s*$/i.test(current)) take(c);
      else finish();
      i += 1;
    } else {
      take(c);
      i += 1;
    }
  }
  finish();
  return statements;
}

/** Index of the quote closing the one at `start`; a doubled quote is an escaped one. */
function closingQuote(text: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === quote) {
      if (text[i + 1] === quote) i += 2;
      else return i;
    } else i += 1;
  }
  return -1;
}

/**
 * A statement as far as its meaning goes, for checksums: every run of whitespace outside
 * '…' strings, "…" identifiers and $$…$$ bodies becomes one space (so indentation, line
 * endings, trailing blanks and the comments the splitter dropped do not count); what is
 * inside those is kept as written (the splitter has already made its line endings \n, as
 * cqlsh reading a file does).
 */
export function normaliseStatement(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    let end = -1;
    if (c === "'" || c === '"') end = closingQuote(text, i, c) + 1;
    else if (c === '$' && text[i + 1] === '$') {
      const close = text.indexOf('$$', i + 2);
      end = close < 0 ? -1 : close + 2;
    }
    if (end > 0) {
      out += text.slice(i, end);
      i = end;
    } else if (/\s/.test(c)) {
      while (i < text.length && /\s/.test(text[i]!)) i += 1;
      out += ' ';
    } else {
      out += c;
      i += 1;
    }
  }
  return out.trim();
}
