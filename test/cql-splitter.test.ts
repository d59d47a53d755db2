import { describe, expect, it } from 'vitest';
import { CqlSyntaxError, splitCql } from '../src/cassandra/cql-splitter.js';

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
