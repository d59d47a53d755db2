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
import { CqlSyntaxError, normaliseStatement, splitCql, type CqlStatement } from './cql-splitter.js';
import type { KeyspaceName } from './keyspace.js';

export interface CqlScript {
  name: string;
  /** As shown in messages. */
  file: string;
  /**
   * SHA-256 of the script's statements as the splitter yields them, normalised
   * (normaliseStatement) and taken before ${KEYSPACE} is filled: line endings, indentation,
   * trailing blanks and comments do not count, what Cassandra is told does.
   */
  checksum: string;
  /**
   * What earlier versions recorded: SHA-256 of the file's bytes. A record holding one of these
   * (of the file as it is, or with its line endings made \n or \r\n) is the same script; init
   * then rewrites the record to `checksum`.
   */
  legacyChecksums: string[];
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

// Keyspace names are folded in one place, for every command (./keyspace.ts); re-exported for init's callers.
export { resolveKeyspace, type KeyspaceName } from './keyspace.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The checksum of a script's text: its statements, normalised, each ended by `;` and a newline. */
export function scriptChecksum(raw: string): string {
  return sha256(splitCql(raw).map((s) => `${normaliseStatement(s.text)};\n`).join(''));
}

/**
 * The scripts of `dir` (*.cql, in name order), with ${KEYSPACE} filled (the keyspace as CQL
 * writes it) and split into statements.
 */
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
      const lf = raw.replace(/\r\n?/g, '\n');
      const legacyChecksums = [...new Set([raw, lf, lf.replaceAll('\n', '\r\n')].map(sha256))];
      return { name, file, checksum: scriptChecksum(raw), legacyChecksums, statements: splitCql(rendered) };
    } catch (error) {
      if (error instanceof CqlSyntaxError) throw new UsageError(`${file}:${error.line}: ${error.message}`);
      throw error;
    }
  });
}

/**
 * What init runs before any script. The first two come before the lock, which lives in the
 * keyspace (both IF NOT EXISTS, so harmless when another init ran them); the rest under it.
 */
export function bookkeepingStatements(keyspace: string, replication: string): string[] {
  return [...lockStatements(keyspace, replication), migrationsTable(keyspace)];
}

function lockStatements(keyspace: string, replication: string): string[] {
  return [
    `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ${replication}`,
    `CREATE TABLE IF NOT EXISTS ${keyspace}.schema_lock (name text PRIMARY KEY, owner text, since timestamp)`,
  ];
}

function migrationsTable(keyspace: string): string {
  return `CREATE TABLE IF NOT EXISTS ${keyspace}.schema_migrations (script text PRIMARY KEY, checksum text, applied_at timestamp, statements int, applied_by text)`;
}

export interface InitOptions {
  keyspace: KeyspaceName;
  replication: string;
  force: boolean;
  /** How long to wait for another init's lock. */
  lockWaitMs: number;
  /** The lock's TTL (default 60 s): a crashed init blocks the next one at most this long. Renewed every quarter of it. */
  lockTtlSeconds?: number;
  log: (line: string) => void;
}

export interface InitResult {
  /** As Cassandra holds it. */
  keyspace: string;
  replication: string;
  applied: { script: string; statements: number; reapplied: boolean }[];
  unchanged: string[];
  durationMs: number;
}

const LOCK_TTL_SECONDS = 60;
const QUORUM = 4; // driver.types.consistencies.quorum

/** Refuses to go on when the keyspace exists with another replication than asked. */
async function checkExistingReplication(client: Client, keyspace: KeyspaceName, replication: string): Promise<void> {
  const row = (await client.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [keyspace.name], { prepare: true })).first();
  if (!row) return;
  const current = row.get('replication') as Record<string, string>;
  const wanted = Object.fromEntries([...replication.matchAll(/'((?:[^']|'')+)'\s*:\s*'?([^',}]+)'?/g)].map((m) => [m[1]!.replaceAll("''", "'"), m[2]!.trim()]));
  const shortClass = (name: string | undefined) => (name ?? '').replace(/^org\.apache\.cassandra\.locator\./, '');
  const same =
    shortClass(current.class) === shortClass(wanted.class) &&
    Object.keys(wanted).filter((k) => k !== 'class').every((k) => current[k] === wanted[k]);
  if (!same) {
    const shown = Object.entries(current).map(([k, v]) => `'${k}': '${shortClass(v)}'`).join(', ');
    throw new UsageError(
      `keyspace ${keyspace.name} exists with replication {${shown}}, not ${replication}: change it with ALTER KEYSPACE (then repair), or choose another --mode/--keyspace`,
    );
  }
}

export async function initSchema(client: Client, scripts: CqlScript[], options: InitOptions): Promise<InitResult> {
  const started = Date.now();
  const { keyspace } = options;
  const ks = keyspace.cql;
  // Refuse a keyspace of another replication before writing anything into it...
  await checkExistingReplication(client, keyspace, options.replication);
  // ...then make what the lock needs, and take it: everything else happens under the lock.
  for (const statement of lockStatements(ks, options.replication)) {
    await client.execute(statement);
    await waitForSchemaAgreement(client);
  }
  const lock = await SchemaLock.acquire(client, keyspace, options);
  const interrupted = (signal: NodeJS.Signals) => {
    void lock.release().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    // Again under the lock: another init may have made the keyspace since we looked.
    await checkExistingReplication(client, keyspace, options.replication);
    lock.check('before creating the bookkeeping table');
    await client.execute(migrationsTable(ks));
    await waitForSchemaAgreement(client);
    // QUORUM: in a cluster, a replica that missed the last init must not make us apply twice.
    const rows = (await client.execute(`SELECT script, checksum, applied_at FROM ${ks}.schema_migrations`, [], { consistency: QUORUM })).rows;
    const applied = new Map(rows.map((row) => [row.get('script') as string, { checksum: row.get('checksum') as string, at: row.get('applied_at') as Date }]));
    const result: InitResult = { keyspace: keyspace.name, replication: options.replication, applied: [], unchanged: [], durationMs: 0 };
    for (const script of scripts) {
      const before = applied.get(script.name);
      if (before && before.checksum === script.checksum) {
        result.unchanged.push(script.name);
        continue;
      }
      if (before && script.legacyChecksums.includes(before.checksum)) {
        // Recorded by an earlier version (a checksum of the file's bytes): the same script.
        // The record gets the statements' checksum, so later line-ending changes pass too.
        lock.check(`before updating the record of ${script.file}`);
        await client.execute(`UPDATE ${ks}.schema_migrations SET checksum = ? WHERE script = ?`, [script.checksum, script.name], { prepare: true, consistency: QUORUM });
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
        lock.check(`before ${script.file}:${statement.line}, the script not recorded`);
        try {
          await client.execute(statement.text);
        } catch (error) {
          throw new RuntimeError(`${script.file}:${statement.line}: ${(error as Error).message}`);
        }
        if (/^\s*(CREATE|ALTER|DROP)\b/i.test(statement.text)) await waitForSchemaAgreement(client);
      }
      lock.check(`after the last statement of ${script.file}, the script not recorded`);
      await client.execute(
        `INSERT INTO ${ks}.schema_migrations (script, checksum, applied_at, statements, applied_by) VALUES (?, ?, toTimestamp(now()), ?, ?)`,
        [script.name, script.checksum, script.statements.length, lock.owner],
        { prepare: true, consistency: QUORUM },
      );
      result.applied.push({ script: script.name, statements: script.statements.length, reapplied: before !== undefined });
    }
    result.durationMs = Date.now() - started;
    return result;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await lock.release(); // the TTL frees it anyway
  }
}

/**
 * A lightweight transaction on <keyspace>.schema_lock: only one init at a time holds the row; a
 * crashed holder's row expires after the TTL. Renewed every quarter of the TTL while held; a
 * renewal that finds the row gone or another owner's, or none confirmed for half the TTL, means
 * the lock is lost, and check() stops the run.
 */
class SchemaLock {
  readonly owner = `${hostname()}:${process.pid}:${randomUUID()}`;
  private lost: string | undefined;
  private confirmed = Date.now();
  private renewing = false;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly client: Client,
    private readonly keyspace: KeyspaceName,
    private readonly ttl: number,
  ) {}

  static async acquire(client: Client, keyspace: KeyspaceName, options: InitOptions): Promise<SchemaLock> {
    const lock = new SchemaLock(client, keyspace, options.lockTtlSeconds ?? LOCK_TTL_SECONDS);
    const deadline = Date.now() + options.lockWaitMs;
    let told = false;
    for (;;) {
      const result = await client.execute(
        `INSERT INTO ${keyspace.cql}.schema_lock (name, owner, since) VALUES ('init', ?, toTimestamp(now())) IF NOT EXISTS USING TTL ${lock.ttl}`,
        [lock.owner],
        { prepare: true },
      );
      const row = result.first();
      if (row.get('[applied]') === true) break;
      if (!told) {
        options.log(`waiting for another init (${String(row.get('owner'))}) to finish`);
        told = true;
      }
      if (Date.now() > deadline) {
        throw new RuntimeError(`another init (${String(row.get('owner'))}) has held the schema lock since ${String(row.get('since'))}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    lock.confirmed = Date.now();
    lock.timer = setInterval(() => void lock.renew(), (lock.ttl * 1000) / 4);
    return lock;
  }

  private async renew(): Promise<void> {
    if (this.renewing || this.lost || !this.timer) return;
    this.renewing = true;
    try {
      const row = (
        await this.client.execute(
          `UPDATE ${this.keyspace.cql}.schema_lock USING TTL ${this.ttl} SET owner = ?, since = toTimestamp(now()) WHERE name = 'init' IF owner = ?`,
          [this.owner, this.owner],
          { prepare: true },
        )
      ).first();
      if (row.get('[applied]') === true) this.confirmed = Date.now();
      else {
        const holder = row.get('owner') as string | null | undefined;
        this.lost = holder ? `another writer took it (${holder})` : 'its row is gone (deleted by another writer, or expired)';
      }
    } catch (error) {
      // One failed write is not a lost lock; no renewal for half the TTL may be.
      if (Date.now() - this.confirmed > (this.ttl * 1000) / 2) {
        this.lost = `it could not be renewed for ${Math.round((Date.now() - this.confirmed) / 1000)} s (${(error as Error).message})`;
      }
    } finally {
      this.renewing = false;
    }
  }

  /** Throws when the lock was lost: another init may be changing the schema too. */
  check(where: string): void {
    if (this.lost) {
      throw new RuntimeError(`lost the schema lock of keyspace ${this.keyspace.name}: ${this.lost}; stopped ${where}; run init again once no other init runs`);
    }
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.client
      .execute(`DELETE FROM ${this.keyspace.cql}.schema_lock WHERE name = 'init' IF owner = ?`, [this.owner], { prepare: true })
      .catch(() => undefined);
  }
}
