/**
 * Keyspace names as CQL reads them, shared by every command that takes --keyspace
 * (cassandra init, cassandra stats, ingest): what Cassandra holds in system_schema (for
 * lookups there) and how a statement must write it (for the CQL text).
 */
import { UsageError } from '../errors.js';

/** A keyspace as Cassandra stores it (system_schema.keyspaces) and as CQL must write it. */
export interface KeyspaceName {
  /** The name Cassandra holds: an unquoted name folded to lower case, a "quoted" one as written. */
  name: string;
  /** The name in a statement: bare when CQL reads it back as `name`, else "quoted". */
  cql: string;
}

/** Cassandra 5.0's reserved keywords (org/apache/cassandra/cql3/reserved_keywords.txt): never a bare name. */
const RESERVED = new Set(
  ('ADD ALLOW ALTER AND APPLY ASC AUTHORIZE BATCH BEGIN BY COLUMNFAMILY CREATE DELETE DESC DESCRIBE DROP ENTRIES EXECUTE ' +
    'FROM FULL GRANT IF IN INDEX INFINITY INSERT INTO IS KEYSPACE LIMIT MATERIALIZED MODIFY NAN NORECURSIVE NOT NULL OF ON ' +
    'OR ORDER PRIMARY RENAME REVOKE SCHEMA SELECT SET TABLE TO TOKEN TRUNCATE UNLOGGED UPDATE USE USING VIEW WHERE WITH').split(' '),
);

/**
 * Folds a keyspace name as CQL does: unquoted, it is an identifier (a letter, then letters,
 * digits, _; not a reserved keyword) and case does not count, so it is the lower-case name;
 * "quoted" ("" for a quote inside), it is kept as written. Cassandra then allows only
 * letters, digits and _, 48 at most. A name it refuses is a UsageError (exit 2).
 */
export function resolveKeyspace(input: string): KeyspaceName {
  let name: string;
  const quoted = /^"((?:[^"]|"")*)"$/.exec(input);
  if (quoted) {
    name = quoted[1]!.replaceAll('""', '"');
  } else {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(input)) {
      throw new UsageError(`"${input}" is not a valid keyspace name (unquoted: a letter, then letters, digits, _; or "quoted" to keep its case)`);
    }
    if (RESERVED.has(input.toUpperCase())) throw new UsageError(`"${input}" is a reserved word of CQL: quote it (--keyspace '"${input.toLowerCase()}"') or choose another name`);
    name = input.toLowerCase();
  }
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new UsageError(`"${input}" is not a valid keyspace name (Cassandra allows letters, digits and _ only)`);
  if (name.length > 48) throw new UsageError(`"${input}" is not a valid keyspace name (${name.length} characters; Cassandra allows 48 at most)`);
  const bare = /^[a-z][a-z0-9_]*$/.test(name) && !RESERVED.has(name.toUpperCase());
  return { name, cql: bare ? name : `"${name}"` };
}
