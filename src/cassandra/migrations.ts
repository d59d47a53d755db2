/**
 * `cassandra init`: create the keyspace with the replication of the cluster mode, then apply
 * the CQL scripts of a directory in name order, each once. Applied scripts are recorded
 * (name, checksum, time) in <keyspace>.schema_migrations; a script changed after it was
 * applied is refused unless forced; a lightweight-transaction lock in <keyspace>.schema_lock
 * keeps two inits from interleaving. A script that fails half-way is not rolled back (CQL has
 * no transactions for schema): its first statements stay applied, unrecorded, and run again
 * with the next init, so scripts should use IF NOT EXISTS.
 */
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'cassandra-driver';
import { RuntimeError, UsageError } from '../errors.js';
import { waitForSchemaAgreement } from './connection.js';
import { CqlSyntaxError, splitCql, type CqlStatement } from './cql-splitter.js';

export interface CqlScript {
  name: string;
  /** As shown in messages. */
  file: string;
  /** SHA-256 of the file as written (before ${KEYSPACE} is filled). */
  checksum: string;
  statements: CqlStatement[];
}

export interface ReplicationChoice {
  mode: 'single' | 'cluster';
  /** Default 1 in single mode, 3 in cluster mode. */
  factor?: number;
  /** Data centre for NetworkTopologyStrategy (cluster mode). */
  datacenter?: string;
}

export function replicationFor(choice: ReplicationChoice): string {
  if (choice.mode === 'single') return `{'class': 'SimpleStrategy', 'replication_factor': ${choice.factor ?? 1}}`;
  if (!choice.datacenter) throw new UsageError('cluster mode needs a data centre for NetworkTopologyStrategy (--datacenter)');
  return `{'class': 'NetworkTopologyStrategy', '${choice.datacenter.replaceAll("'", "''")}': ${choice.factor ?? 3}}`;
}

const KEYSPACE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,47}$/;

export function checkKeyspace(name: string): void {
  if (!KEYSPACE_NAME.test(name)) throw new UsageError(`"${name}" is not a valid keyspace name (letters, digits, _; 48 at most)`);
}

/** The scripts of `dir` (*.cql, in name order), with ${KEYSPACE} filled and split into statements. */
export function loadScripts(dir: string, keyspace: string, displayDir = dir): CqlScript[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.cql')).sort();
  } catch {
    throw new UsageError(`scripts directory ${displayDir} does not exist`);
  }
  if (names.length === 0) throw new UsageError(`no .cql script in ${displayDir}`);
  return names.map((name) => {
    const file = join(displayDir, name);
    const raw = readFileSync(join(dir, name), 'utf8');
    // ${KEYSPACE} is the only placeholder: CQL has its own uses for $ and parentheses.
    const rendered = raw.replaceAll('${KEYSPACE}', keyspace);
    try {
      return { name, file, checksum: createHash('sha256').update(raw).digest('hex'), statements: splitCql(rendered) };
    } catch (error) {
      if (error instanceof CqlSyntaxError) throw new UsageError(`${file}:${error.line}: ${error.message}`);
      throw error;
    }
  });
}

/** What init runs before any script: the keyspace and its bookkeeping tables. */
export function bookkeepingStatements(keyspace: string, replication: string): string[] {
  return [
    `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ${replication}`,
    `CREATE TABLE IF NOT EXISTS ${keyspace}.schema_migrations (script text PRIMARY KEY, checksum text, applied_at timestamp, statements int, applied_by text)`,
    `CREATE TABLE IF NOT EXISTS ${keyspace}.schema_lock (name text PRIMARY KEY, owner text, since timestamp)`,
  ];
}

export interface InitOptions {
  keyspace: string;
  replication: string;
  force: boolean;
  /** How long to wait for another init's lock. */
  lockWaitMs: number;
  log: (line: string) => void;
}

export interface InitResult {
  keyspace: string;
  replication: string;
  applied: { script: string; statements: number; reapplied: boolean }[];
  unchanged: string[];
  durationMs: number;
}

/** The lock expires unless renewed: a crashed init blocks the next one for at most this long. */
const LOCK_TTL_SECONDS = 60;
const LOCK_RENEW_MS = 15_000;
const QUORUM = 4; // driver.types.consistencies.quorum

/** Refuses to go on when the keyspace exists with another replication than asked. */
async function checkExistingReplication(client: Client, keyspace: string, replication: string): Promise<void> {
  const row = (await client.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [keyspace], { prepare: true })).first();
  if (!row) return;
  const current = row.get('replication') as Record<string, string>;
  const wanted = Object.fromEntries([...replication.matchAll(/'([^']+)'\s*:\s*'?([^',}]+)'?/g)].map((m) => [m[1]!, m[2]!.trim()]));
  const shortClass = (name: string | undefined) => (name ?? '').replace(/^org\.apache\.cassandra\.locator\./, '');
  const same =
    shortClass(current.class) === shortClass(wanted.class) &&
    Object.keys(wanted).filter((k) => k !== 'class').every((k) => current[k] === wanted[k]);
  if (!same) {
    const shown = Object.entries(current).map(([k, v]) => `'${k}': '${shortClass(v)}'`).join(', ');
    throw new UsageError(
      `keyspace ${keyspace} exists with replication {${shown}}, not ${replication}: change it with ALTER KEYSPACE (then repair), or choose another --mode/--keyspace`,
    );
  }
}

export async function initSchema(client: Client, scripts: CqlScript[], options: InitOptions): Promise<InitResult> {
  const started = Date.now();
  const { keyspace } = options;
  await checkExistingReplication(client, keyspace, options.replication);
  for (const statement of bookkeepingStatements(keyspace, options.replication)) {
    await client.execute(statement);
    await waitForSchemaAgreement(client);
  }
  const owner = `${hostname()}:${process.pid}:${randomUUID()}`;
  await acquireLock(client, keyspace, owner, options);
  const release = () =>
    client.execute(`DELETE FROM ${keyspace}.schema_lock WHERE name = 'init' IF owner = ?`, [owner], { prepare: true }).catch(() => undefined);
  // Keep the lock while working; give it back if interrupted, so the next init need not wait.
  const renew = setInterval(() => {
    void client
      .execute(`UPDATE ${keyspace}.schema_lock USING TTL ${LOCK_TTL_SECONDS} SET owner = ?, since = toTimestamp(now()) WHERE name = 'init' IF owner = ?`, [owner, owner], { prepare: true })
      .catch(() => undefined);
  }, LOCK_RENEW_MS);
  const interrupted = (signal: NodeJS.Signals) => {
    void release().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    // QUORUM: in a cluster, a replica that missed the last init must not make us apply twice.
    const rows = (await client.execute(`SELECT script, checksum, applied_at FROM ${keyspace}.schema_migrations`, [], { consistency: QUORUM })).rows;
    const applied = new Map(rows.map((row) => [row.get('script') as string, { checksum: row.get('checksum') as string, at: row.get('applied_at') as Date }]));
    const result: InitResult = { keyspace, replication: options.replication, applied: [], unchanged: [], durationMs: 0 };
    for (const script of scripts) {
      const before = applied.get(script.name);
      if (before && before.checksum === script.checksum) {
        result.unchanged.push(script.name);
        continue;
      }
      if (before && !options.force) {
        throw new UsageError(
          `${script.file} changed since it was applied on ${before.at?.toISOString() ?? 'an earlier run'}; ` +
            'fix the script back, or run again with --force to apply it anew',
        );
      }
      options.log(`applying ${script.file} (${script.statements.length} statements)`);
      for (const statement of script.statements) {
        try {
          await client.execute(statement.text);
        } catch (error) {
          throw new RuntimeError(`${script.file}:${statement.line}: ${(error as Error).message}`);
        }
        if (/^\s*(CREATE|ALTER|DROP)\b/i.test(statement.text)) await waitForSchemaAgreement(client);
      }
      await client.execute(
        `INSERT INTO ${keyspace}.schema_migrations (script, checksum, applied_at, statements, applied_by) VALUES (?, ?, toTimestamp(now()), ?, ?)`,
        [script.name, script.checksum, script.statements.length, owner],
        { prepare: true, consistency: QUORUM },
      );
      result.applied.push({ script: script.name, statements: script.statements.length, reapplied: before !== undefined });
    }
    result.durationMs = Date.now() - started;
    return result;
  } finally {
    clearInterval(renew);
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await release(); // the TTL frees it anyway
  }
}

/** A lightweight transaction: only one init at a time holds the row; a crashed holder's row expires. */
async function acquireLock(client: Client, keyspace: string, owner: string, options: InitOptions): Promise<void> {
  const deadline = Date.now() + options.lockWaitMs;
  let told = false;
  for (;;) {
    const result = await client.execute(
      `INSERT INTO ${keyspace}.schema_lock (name, owner, since) VALUES ('init', ?, toTimestamp(now())) IF NOT EXISTS USING TTL ${LOCK_TTL_SECONDS}`,
      [owner],
      { prepare: true },
    );
    const row = result.first();
    if (row.get('[applied]') === true) return;
    if (!told) {
      options.log(`waiting for another init (${String(row.get('owner'))}) to finish`);
      told = true;
    }
    if (Date.now() > deadline) {
      throw new RuntimeError(`another init (${String(row.get('owner'))}) has held the schema lock since ${String(row.get('since'))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
