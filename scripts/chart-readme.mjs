// Keeps the values table of a Helm chart's README in step with the chart's values.
//
// Usage: node scripts/chart-readme.mjs [--check] [chart-dir]
//   chart-dir  the chart's directory (default: the project's templates/helm/smart-meter)
//   --check    write nothing; report what is stale instead
//
// Inputs, all in chart-dir:
//   values.yaml         every value, with its default; a map is followed down to its leaves, except
//                       an empty map or list, or a map the schema declares as an open object (no
//                       `properties`, or `additionalProperties` allowed), which stays one value
//   values.schema.json  optional: each value's type (`type`, `enum`, `minimum`, `maximum`, their
//                       exclusive forms) and `description`
//   README.md           the table goes between the lines `<!-- values:start -->` and
//                       `<!-- values:end -->`; everything around them is left as it is
// A value without a schema description is described by the `#` lines right above its key in
// values.yaml (same indentation, no blank line in between).
//
// The table has one row per value: Value (dotted path) | Type | Default (the values.yaml value as
// compact JSON) | Description. Without --check the README is rewritten (temporary file + rename)
// when the table changed. With --check each stale value gets a line on stderr: missing from the
// README, its row differs, or the README lists a value values.yaml no longer has.
//
// Exit codes: 0 the README is (now) up to date; 1 --check found it stale, or the README or its
// markers are missing (one line says which); 2 bad arguments, or values.yaml / values.schema.json
// cannot be read or parsed.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as yaml from 'js-yaml';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const DEFAULT_CHART = join(ROOT, 'templates', 'helm', 'smart-meter');
const START = '<!-- values:start -->';
const END = '<!-- values:end -->';
const HEADER = ['| Value | Type | Default | Description |', '|---|---|---|---|'];
const NAME = 'chart-readme';

class Failure extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

function parseArgs(argv) {
  let check = false;
  let chart;
  for (const arg of argv) {
    if (arg === '--check') check = true;
    else if (arg === '-h' || arg === '--help') {
      process.stdout.write('usage: node scripts/chart-readme.mjs [--check] [chart-dir]\n');
      process.exit(0);
    } else if (arg.startsWith('-')) throw new Failure(`unknown option ${arg} (usage: [--check] [chart-dir])`, 2);
    else if (chart === undefined) chart = arg;
    else throw new Failure(`one chart directory only, got ${chart} and ${arg}`, 2);
  }
  return { check, chart: resolve(chart ?? DEFAULT_CHART) };
}

/** A path for messages: relative to the working directory when that is shorter. */
function shown(path) {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && rel.length < path.length ? rel : path;
}

// ---------------------------------------------------------------------------------------------
// Inputs

function readValues(chart) {
  const file = join(chart, 'values.yaml');
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Failure(`cannot read ${shown(file)}: ${error.code ?? error.message}`, 2);
  }
  let values;
  try {
    // No timestamps or other YAML 1.1 extras: a value reads as JSON would have it.
    values = yaml.load(text, { schema: yaml.CORE_SCHEMA, filename: file });
  } catch (error) {
    throw new Failure(`${shown(file)} is not valid YAML: ${error.message.split('\n')[0]}`, 2);
  }
  if (values == null) values = {};
  if (!isMap(values)) throw new Failure(`${shown(file)} is not a map of values`, 2);
  return { values, comments: commentsOf(text) };
}

function readSchema(chart) {
  const file = join(chart, 'values.schema.json');
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Failure(`cannot read ${shown(file)}: ${error.code ?? error.message}`, 2);
  }
}

function isMap(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Comments of values.yaml, by key path. js-yaml drops them, so the text is followed line by line,
// with a stack of the enclosing keys by indentation. Keys inside lists are not values of the table
// (a list is one value), nor are lines of block scalars or of flow collections over several lines.

const KEY_LINE =
  /^( *)(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|([^\s#'"\-?:,[\]{}&*!|>%@`](?:[^:#\n]|:(?=\S)|(?<=\S)#)*?|-(?=\S)(?:[^:#\n]|:(?=\S)|(?<=\S)#)*?))[ \t]*:(?:[ \t]+(.*))?$/;

function unquote(double, single, plain) {
  if (double !== undefined) {
    try {
      return JSON.parse(`"${double}"`);
    } catch {
      return double;
    }
  }
  if (single !== undefined) return single.replace(/''/g, "'");
  return plain.trimEnd();
}

/** What a flow value opens and does not close on its line: the depth of [ and { left open. */
function openBrackets(text) {
  let depth = 0;
  let quote = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) break;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
  }
  return depth;
}

/** Map from JSON.stringify(key path) to the comment text right above that key. */
function commentsOf(text) {
  const comments = new Map();
  const lines = text.split(/\r?\n/);
  /** @type {{indent: number, key: string | null}[]} null: a list item, whose keys are skipped */
  const stack = [];
  let pending = []; // comment lines seen right above the current line
  let pendingIndent = -1;
  let blockIndent = -1; // inside a block scalar: lines indented more than this belong to it
  let flowDepth = 0; // inside a flow collection over several lines

  for (const line of lines) {
    const indent = line.length - line.trimStart().length;
    const body = line.trim();
    if (blockIndent >= 0) {
      if (body === '' || indent > blockIndent) continue;
      blockIndent = -1;
    }
    if (flowDepth > 0) {
      flowDepth += openBrackets(line);
      if (flowDepth < 0) flowDepth = 0;
      continue;
    }
    if (body === '' || body === '---' || body === '...' || body.startsWith('%')) {
      pending = [];
      continue;
    }
    if (body.startsWith('#')) {
      if (pending.length > 0 && indent !== pendingIndent) pending = [];
      pending.push(body.replace(/^#+ ?/, '').trim());
      pendingIndent = indent;
      continue;
    }
    const above = pendingIndent === indent ? pending : [];
    pending = [];

    while (stack.length > 0 && stack[stack.length - 1].indent >= indent) stack.pop();

    if (body.startsWith('- ') || body === '-') {
      stack.push({ indent, key: null });
      const rest = body.slice(1).trim();
      if (/[|>][-+0-9]*\s*(#.*)?$/.test(rest) && !/:\s/.test(rest)) blockIndent = indent;
      flowDepth = Math.max(0, openBrackets(rest));
      continue;
    }
    const match = KEY_LINE.exec(line);
    if (!match) continue;
    const key = unquote(match[2], match[3], match[4]);
    const rest = (match[5] ?? '').trim();
    const inList = stack.some((entry) => entry.key === null);
    if (!inList) {
      const path = [...stack.map((entry) => entry.key), key];
      const comment = above.filter((text) => text !== '').join(' ').trim();
      if (comment) comments.set(JSON.stringify(path), comment);
    }
    if (rest === '' || rest.startsWith('#') || /^[&!]\S*\s*(#.*)?$/.test(rest)) stack.push({ indent, key });
    else if (/^(?:[&!]\S*\s+)*[|>][-+0-9]*\s*(#.*)?$/.test(rest)) blockIndent = indent;
    else flowDepth = Math.max(0, openBrackets(rest));
  }
  return comments;
}

// ---------------------------------------------------------------------------------------------
// The schema

function resolveRef(root, node, seen = new Set()) {
  if (!isMap(node) || typeof node.$ref !== 'string' || !node.$ref.startsWith('#')) return node;
  if (seen.has(node.$ref)) return node;
  seen.add(node.$ref);
  let target = root;
  for (const part of node.$ref.slice(1).split('/').filter(Boolean)) {
    const name = decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~');
    target = isMap(target) ? target[name] : undefined;
  }
  if (!isMap(target)) return node;
  const { $ref, ...rest } = node;
  return { ...resolveRef(root, target, seen), ...rest };
}

/** The schema of `key` inside `node`'s object, or undefined. */
function childSchema(root, node, key) {
  if (!isMap(node)) return undefined;
  if (isMap(node.properties) && Object.hasOwn(node.properties, key)) return resolveRef(root, node.properties[key]);
  if (isMap(node.patternProperties)) {
    for (const [pattern, schema] of Object.entries(node.patternProperties)) {
      try {
        if (new RegExp(pattern, 'u').test(key)) return resolveRef(root, schema);
      } catch {
        // a pattern JavaScript does not understand: not this one
      }
    }
  }
  if (isMap(node.additionalProperties)) return resolveRef(root, node.additionalProperties);
  return undefined;
}

function types(node) {
  if (!isMap(node)) return [];
  if (Array.isArray(node.type)) return node.type;
  if (typeof node.type === 'string') return [node.type];
  return [];
}

/** A map whose keys are the user's: one value of the table, not followed down. */
function isOpenObject(node) {
  if (!isMap(node) || !types(node).includes('object')) return false;
  const declared = isMap(node.properties) && Object.keys(node.properties).length > 0;
  if (!declared) return true;
  return node.additionalProperties === true || isMap(node.additionalProperties);
}

function typeCell(node, value) {
  if (!isMap(node)) return inferredType(value);
  const type = types(node).join(' or ') || (Array.isArray(node.enum) ? '' : inferredType(value));
  const limits = [];
  if (Array.isArray(node.enum)) limits.push(`one of ${node.enum.map((item) => code(JSON.stringify(item))).join(', ')}`);
  const exclusiveMin = node.exclusiveMinimum === true ? node.minimum : node.exclusiveMinimum;
  const exclusiveMax = node.exclusiveMaximum === true ? node.maximum : node.exclusiveMaximum;
  if (typeof exclusiveMin === 'number') limits.push(`> ${exclusiveMin}`);
  else if (typeof node.minimum === 'number') limits.push(`≥ ${node.minimum}`);
  if (typeof exclusiveMax === 'number') limits.push(`< ${exclusiveMax}`);
  else if (typeof node.maximum === 'number') limits.push(`≤ ${node.maximum}`);
  if (limits.length === 0) return type;
  return type ? `${type} (${limits.join(', ')})` : limits.join(', ');
}

function inferredType(value) {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

// ---------------------------------------------------------------------------------------------
// The table

/** A Markdown code span, whatever backticks the text holds. */
function code(text) {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A table cell's text: on one line, its pipes escaped. */
function cell(text) {
  return String(text).replace(/\s*\r?\n\s*/g, ' ').replace(/\|/g, '\\|').trim();
}

function dotted(path) {
  return path.map((key, i) => (/^[A-Za-z0-9_-]+$/.test(key) ? `${i === 0 ? '' : '.'}${key}` : `[${JSON.stringify(key)}]`)).join('');
}

/** The rows, in values.yaml's order: [{ name, line }]. */
function rowsOf(values, schema, comments) {
  const rows = [];
  const visit = (value, node, path) => {
    if (isMap(value) && Object.keys(value).length > 0 && !isOpenObject(node)) {
      for (const [key, child] of Object.entries(value)) visit(child, childSchema(schema, node, key), [...path, key]);
      return;
    }
    const name = dotted(path);
    const description = (isMap(node) && typeof node.description === 'string' && node.description.trim()) || comments.get(JSON.stringify(path)) || '';
    const json = JSON.stringify(value === undefined ? null : value);
    const cells = [code(name), typeCell(node, value), code(json), description].map(cell);
    rows.push({ name, line: `| ${cells.join(' | ')} |` });
  };
  const root = resolveRef(schema, schema);
  for (const [key, value] of Object.entries(values)) visit(value, childSchema(schema, root, key), [key]);
  return rows;
}

/** The value named by an existing row of the README's table: its first cell, code span removed. */
function nameOfRow(line) {
  const cells = line.trim().replace(/^\|/, '').split(/(?<!\\)\|/);
  if (cells.length < 2) return undefined;
  const first = cells[0].trim().replace(/\\\|/g, '|');
  const span = /^(`+) ?(.*?) ?\1$/.exec(first);
  const name = span ? span[2] : first;
  if (name === '' || /^:?-+:?$/.test(name) || name === 'Value') return undefined;
  return name;
}

// ---------------------------------------------------------------------------------------------

function main() {
  const { check, chart } = parseArgs(process.argv.slice(2));
  const readmeFile = join(chart, 'README.md');
  const { values, comments } = readValues(chart);
  const schema = readSchema(chart);
  if (!existsSync(readmeFile)) throw new Failure(`${shown(readmeFile)} not found: it needs a line ${START} and a line ${END} for the values table`, 1);

  const text = readFileSync(readmeFile, 'utf8');
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  const starts = lines.flatMap((line, i) => (line.trim() === START ? [i] : []));
  const ends = lines.flatMap((line, i) => (line.trim() === END ? [i] : []));
  if (starts.length !== 1 || ends.length !== 1 || ends[0] < starts[0]) {
    const problem = starts.length === 0 || ends.length === 0 ? 'has no' : starts.length > 1 || ends.length > 1 ? 'has more than one pair of' : 'has misplaced';
    throw new Failure(`${shown(readmeFile)} ${problem} markers: the values table belongs between a line ${START} and a line ${END}`, 1);
  }
  const [start] = starts;
  const [end] = ends;

  const rows = rowsOf(values, schema, comments);
  const table = [...HEADER, ...rows.map((row) => row.line)];
  const current = lines.slice(start + 1, end);

  if (check) {
    const existing = new Map();
    for (const line of current) {
      const name = nameOfRow(line);
      if (name !== undefined && !existing.has(name)) existing.set(name, line.trim());
    }
    const problems = [];
    const names = new Set();
    for (const row of rows) {
      names.add(row.name);
      if (!existing.has(row.name)) problems.push(`${row.name}: missing from ${shown(readmeFile)}`);
      else if (existing.get(row.name) !== row.line) problems.push(`${row.name}: row differs in ${shown(readmeFile)} (expected ${row.line})`);
    }
    for (const name of existing.keys()) {
      if (!names.has(name)) problems.push(`${name}: in ${shown(readmeFile)} but not in values.yaml`);
    }
    if (problems.length === 0 && current.join('\n') !== table.join('\n')) {
      problems.push(`${shown(readmeFile)}: the values table's header, order or layout differs`);
    }
    if (problems.length > 0) {
      for (const problem of problems) process.stderr.write(`${NAME}: ${problem}\n`);
      return 1;
    }
    return 0;
  }

  const updated = [...lines.slice(0, start + 1), ...table, ...lines.slice(end)].join(eol);
  if (updated === text) return 0;
  const temporary = join(chart, `.README.md.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, updated);
    renameSync(temporary, readmeFile);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  process.stdout.write(`${NAME}: ${shown(readmeFile)}: ${rows.length} values\n`);
  return 0;
}

try {
  process.exitCode = main();
} catch (error) {
  if (!(error instanceof Failure)) throw error;
  process.stderr.write(`${NAME}: ${error.message}\n`);
  process.exitCode = error.code;
}
