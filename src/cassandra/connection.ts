/**
 * Connecting to Cassandra from plain values: contact points, credentials, TLS, and a wait
 * with backoff for a node that is still starting.
 */
import { readFileSync } from 'node:fs';
import type { Client, ClientOptions } from 'cassandra-driver';
import { RuntimeError } from '../errors.js';
import { checkTlsPair, positiveInteger, readSecretFile } from '../parsers.js';

export interface CassandraConnection {
  /** host or host:port */
  contactPoints: string[];
  port: number;
  /** Unset: any node will do (round robin), fine for schema work and a single data centre. */
  localDc?: string;
  username?: string;
  password?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string; insecure?: boolean };
  /** Per-request timeout (the old bridge's CASSANDRA_TIMEOUT); default 30 s. */
  readTimeoutMs?: number;
}

/** The connection options every Cassandra command takes, as the CLI gives them. */
export interface CassandraConnectionFlags {
  contactPoints: string;
  port: string;
  localDc?: string;
  username?: string;
  password?: string;
  passwordFile?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsInsecure?: boolean;
}

export function connectionFromFlags(flags: CassandraConnectionFlags): CassandraConnection {
  checkTlsPair(flags.tlsCert, flags.tlsKey);
  return {
    contactPoints: flags.contactPoints.split(',').map((p) => p.trim()).filter(Boolean),
    port: positiveInteger(flags.port, '--port'),
    localDc: flags.localDc,
    username: flags.username,
    // From the environment here, not as option defaults: --help would print them.
    password: cassandraPassword(flags.passwordFile, flags.password),
    tls: flags.tls || flags.tlsCa || flags.tlsCert || flags.tlsKey ? { caFile: flags.tlsCa, certFile: flags.tlsCert, keyFile: flags.tlsKey, insecure: flags.tlsInsecure } : undefined,
  };
}

/** A password file (--password-file, else CASSANDRA_PASSWORD_FILE) wins over a password (--password, else CASSANDRA_PASSWORD). */
export function cassandraPassword(passwordFile?: string, password?: string): string | undefined {
  const file = passwordFile ?? process.env.CASSANDRA_PASSWORD_FILE;
  return file ? readSecretFile(file, 'Cassandra password') : (password ?? process.env.CASSANDRA_PASSWORD);
}

async function loadDriver() {
  return (await import('cassandra-driver')).default;
}

export async function clientOptions(connection: CassandraConnection): Promise<ClientOptions> {
  const driver = await loadDriver();
  const options: ClientOptions = {
    contactPoints: connection.contactPoints,
    protocolOptions: { port: connection.port },
    socketOptions: { connectTimeout: 5000, readTimeout: connection.readTimeoutMs ?? 30_000 },
  };
  if (connection.localDc) options.localDataCenter = connection.localDc;
  else options.policies = { loadBalancing: new driver.policies.loadBalancing.RoundRobinPolicy() };
  if (connection.username !== undefined) {
    options.authProvider = new driver.auth.PlainTextAuthProvider(connection.username, connection.password ?? '');
  }
  if (connection.tls) {
    const read = (file: string | undefined, what: string) => {
      if (!file) return undefined;
      try {
        return readFileSync(file);
      } catch {
        throw new RuntimeError(`cannot read the TLS ${what} ${file}`);
      }
    };
    options.sslOptions = {
      ca: read(connection.tls.caFile, 'CA file') ? [read(connection.tls.caFile, 'CA file')!] : undefined,
      cert: read(connection.tls.certFile, 'certificate'),
      key: read(connection.tls.keyFile, 'key'),
      rejectUnauthorized: connection.tls.insecure !== true,
    };
  }
  return options;
}

/**
 * Connects, retrying with backoff (0.5 s doubling to 5 s) until `waitMs` has passed: a node
 * that is starting refuses connections for a while. Fails with the last reason.
 */
export async function connectWithRetry(
  connection: CassandraConnection,
  waitMs: number,
  onRetry: (attempt: number, reason: string) => void = () => undefined,
): Promise<Client> {
  const driver = await loadDriver();
  const options = await clientOptions(connection);
  const deadline = Date.now() + waitMs;
  let delay = 500;
  for (let attempt = 1; ; attempt += 1) {
    const client = new driver.Client(options);
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.shutdown().catch(() => undefined);
      const reason = describeConnectError(error);
      if (/authentication|credentials|password/i.test(reason)) throw new RuntimeError(`Cassandra refused the credentials: ${reason}`);
      if (Date.now() + delay > deadline) {
        throw new RuntimeError(`cannot reach Cassandra at ${connection.contactPoints.join(',')} (port ${connection.port}) after ${Math.round(waitMs / 1000)} s: ${reason}`);
      }
      onRetry(attempt, reason);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
}

function describeConnectError(error: unknown): string {
  const e = error as { message?: string; innerErrors?: Record<string, { message?: string }> };
  const inner = e.innerErrors ? Object.values(e.innerErrors).map((x) => x?.message).filter(Boolean) : [];
  return inner.length ? inner.join('; ') : (e.message ?? String(error));
}

/** Waits until every node agrees on the schema (after DDL), up to `timeoutMs`. */
export async function waitForSchemaAgreement(client: Client, timeoutMs = 20_000): Promise<void> {
  // The driver has it (and waits on its own after DDL, up to a limit); its typings miss it.
  const metadata = client.metadata as unknown as { checkSchemaAgreement: () => Promise<boolean> };
  const deadline = Date.now() + timeoutMs;
  while (!(await metadata.checkSchemaAgreement())) {
    if (Date.now() > deadline) throw new RuntimeError('the Cassandra nodes did not agree on the schema in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Waits until every table exists in the keyspace, polling once a second up to `waitMs`; says
 * once which are missing. Fails naming them.
 */
export async function waitForTables(client: Client, keyspace: string, tables: readonly string[], waitMs: number, onWait: (missing: string[]) => void = () => undefined): Promise<void> {
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    const result = await client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [keyspace], { prepare: true });
    const present = new Set(result.rows.map((row) => String(row.get('table_name'))));
    const missing = tables.filter((t) => !present.has(t));
    if (!missing.length) return;
    if (Date.now() > deadline) throw new RuntimeError(`Cassandra has no table ${missing.map((t) => `${keyspace}.${t}`).join(', ')} (run smartmeter cassandra init)`);
    if (!told) onWait(missing);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
