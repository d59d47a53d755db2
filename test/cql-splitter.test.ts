import { describe, expect, it } from 'vitest';
import { CqlSyntaxError, normaliseStatement, splitCql } from '../src/cassandra/cql-splitter.js';
import { scriptChecksum } from '../src/cassandra/migrations.js';

describe('splitCql', () => {
  it('splits at semicolons and gives the line each statement starts on', () => {
    const script = '-- header\n\nCREATE TABLE a (x int PRIMARY KEY);\n\n  INSERT INTO a (x) VALUES (1);SELECT * FROM a\n';
    expect(splitCql(script)).toEqual([
      { text: 'CREATE TABLE a (x int PRIMARY KEY)', line: 3 },
      { text: 'INSERT INTO a (x) VALUES (1)', line: 5 },
      { text: 'SELECT * FROM a', line: 5 },
    ]);
  });

  it('ignores semicolons in strings, quoted identifiers and $$ bodies', () => {
    const script = [
      "INSERT INTO t (k, v) VALUES ('a;b', 'it''s; fine');",
      'CREATE TABLE "we;ird""name" (k int PRIMARY KEY);',
      'CREATE FUNCTION f (x int) RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS $$ return x; $$;',
      "SELECT '--not a comment', '/* nor this */' FROM t;",
    ].join('\n');
    expect(splitCql(script).map((s) => s.text)).toEqual([
      "INSERT INTO t (k, v) VALUES ('a;b', 'it''s; fine')",
      'CREATE TABLE "we;ird""name" (k int PRIMARY KEY)',
      'CREATE FUNCTION f (x int) RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS $$ return x; $$',
      "SELECT '--not a comment', '/* nor this */' FROM t",
    ]);
  });

  it('drops --, // and /* */ comments, semicolons inside them included', () => {
    const script = 'SELECT 1 -- ; here\nFROM a; // and ; here\n/* multi\n ; line */ SELECT 2 /* x */ FROM b;';
    expect(splitCql(script)).toEqual([
      { text: 'SELECT 1  \nFROM a', line: 1 },
      { text: 'SELECT 2   FROM b', line: 4 },
    ]);
  });

  it('keeps a BEGIN BATCH … APPLY BATCH whole', () => {
    const script = "BEGIN UNLOGGED BATCH\n  INSERT INTO t (k) VALUES (1);\n  INSERT INTO t (k) VALUES ('a;b');\nAPPLY BATCH;\nSELECT 1;";
    expect(splitCql(script)).toEqual([
      { text: "BEGIN UNLOGGED BATCH\n  INSERT INTO t (k) VALUES (1);\n  INSERT INTO t (k) VALUES ('a;b');\nAPPLY BATCH", line: 1 },
      { text: 'SELECT 1', line: 5 },
    ]);
  });

  it('handles CRLF and a last statement without a semicolon', () => {
    expect(splitCql('SELECT 1;\r\nSELECT 2\r\n')).toEqual([
      { text: 'SELECT 1', line: 1 },
      { text: 'SELECT 2', line: 2 },
    ]);
  });

  it.each([
    ["SELECT 'open", 'unterminated string', 1],
    ['\n\nCREATE TABLE "open (k int)', 'unterminated quoted identifier', 3],
    ['SELECT 1;\n/* never closed', 'unterminated /* comment', 2],
    ['AS $$ body', 'unterminated $$ string', 1],
  ])('reports %j as "%s" on line %i', (script, message, line) => {
    try {
      splitCql(script);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CqlSyntaxError);
      expect((error as CqlSyntaxError).message).toBe(message);
      expect((error as CqlSyntaxError).line).toBe(line);
    }
  });
});

describe('the checksum of a script: its statements, not its bytes', () => {
  const script = [
    '-- the schema',
    'CREATE TABLE IF NOT EXISTS ${KEYSPACE}.a (',
    '  k int PRIMARY KEY,',
    '  v text  -- a value',
    ');',
    "INSERT INTO ${KEYSPACE}.a (k, v) VALUES (1, 'two  spaces');",
    'CREATE FUNCTION ${KEYSPACE}.f (x int) RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS $$ return  x; $$;',
    '',
  ].join('\n');
  const multiline = script.replace("'two  spaces'", "'two  spaces\nand a line'");

  it.each([
    ['CRLF line endings', script.replaceAll('\n', '\r\n')],
    ['CR line endings', script.replaceAll('\n', '\r')],
    ['trailing blanks and tabs', script.replaceAll('\n', ' \t\n')],
    ['no final newline', script.trimEnd()],
    ['comments added or removed', `/* header */\n${script.replace('  -- a value', '').replace('k int PRIMARY KEY,', 'k int PRIMARY KEY, // the key')}\n-- the end\n`],
    ['indentation and blank lines', script.replaceAll('\n  ', '\n\t\t').replaceAll(';\n', ';\n\n\n')],
  ])('does not change with %s', (_, variant) => {
    expect(scriptChecksum(variant)).toBe(scriptChecksum(script));
  });

  it('does not change with CRLF inside a string either: it is sent as \\n, as cqlsh reads a file', () => {
    expect(scriptChecksum(multiline.replaceAll('\n', '\r\n'))).toBe(scriptChecksum(multiline));
  });

  it.each([
    ['a string literal', script, script.replace("'two  spaces'", "'two spaces'")],
    ['blanks at the end of a line inside a string (Cassandra stores them)', multiline, multiline.replace('spaces\n', 'spaces \n')],
    ['a quoted identifier', script, script.replace('.a (', '."A" (')],
    ['a column type', script, script.replace('v text', 'v varchar')],
    ['a $$ body', script, script.replace('return  x;', 'return  x + 1;')],
    ['blanks inside a $$ body (Cassandra keeps the body as written)', script, script.replace('return  x;', 'return x;')],
    ['a statement added', script, `${script}DROP TABLE \${KEYSPACE}.b;\n`],
    ['a semicolon that splits a statement in two', script, script.replace('k int PRIMARY KEY,', 'k int PRIMARY KEY);(')],
  ])('changes with %s', (_, base, variant) => {
    expect(variant).not.toBe(base);
    expect(scriptChecksum(variant)).not.toBe(scriptChecksum(base));
  });

  it('normalises whitespace outside strings, quoted identifiers and $$ bodies only', () => {
    expect(normaliseStatement("SELECT  'a  b'\n,\t\"x  y\"  FROM t WHERE f = $$ 1\n  2 $$  ")).toBe("SELECT 'a  b' , \"x  y\" FROM t WHERE f = $$ 1\n  2 $$");
  });
});
