// Peers of `smartmeter ingest` for bench/ingest.ts: the old Go bridge (bench/old-bridge, built
// here with go build) and DataStax Bulk Loader (resolved from Maven Central), plus the paced
// core-NATS publisher and the old bridge's keyspace.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from 'cassandra-driver';
import type { NatsConnection } from 'nats';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const cache = (name: string): string => {
  const dir = join(process.env.SMARTMETER_RIG_DIR ?? join(root, '.rig'), 'cache', name);
  mkdirSync(dir, { recursive: true });
  return dir;
};

/**
 * The old bridge's binary, rebuilt when its sources change. Same Go settings as the rig's Go
 * builds (rig/src/nats-build.ts): GOPATH and build cache in the rig's cache, which CI keeps, and
 * the local toolchain only.
 */
export function oldBridgeBinary(): string {
  const src = join(root, 'bench', 'old-bridge');
  const out = cache('old-bridge');
  const binary = join(out, 'old-bridge');
  const stamp = ['go.mod', 'go.sum', 'main.go'].map((f) => readFileSync(join(src, f), 'utf8')).join('\0');
  const stampFile = join(out, 'sources');
  if (existsSync(binary) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return binary;
  const go = cache('go');
  const r = spawnSync('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', binary, '.'], {
    cwd: src,
    encoding: 'utf8',
    env: { ...process.env, GOPATH: join(go, 'path'), GOCACHE: join(go, 'build-cache'), GOFLAGS: '-modcacherw', GOTOOLCHAIN: 'local', CGO_ENABLED: '0' },
  });
  if (r.status !== 0) throw new Error(`go build of bench/old-bridge failed: ${r.stderr || r.error}`);
  writeFileSync(stampFile, stamp);
  return binary;
}

/** The old bridge's tables: raw_data as today (the old one lacked demand…val12) and a counter keyed by `slot`. */
export async function createOldKeyspace(client: Client, ks: string): Promise<void> {
  await client.execute(`CREATE KEYSPACE ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
  await client.execute(`CREATE TABLE ${ks}.raw_data (line tinyint, transformer int, usagepoint int, year smallint, month tinyint,
    day tinyint, hour tinyint, minute tinyint, day_of_week tinyint, voltage float, demand float, val3 float, val4 float, val5 float,
    val6 float, val7 float, val8 float, val9 float, val10 float, val11 float, val12 float, epoch bigint,
    PRIMARY KEY ((line, transformer, usagepoint), year, month, day, hour, minute))
    WITH CLUSTERING ORDER BY (year DESC, month DESC, day DESC, hour DESC, minute DESC)`);
  await client.execute(`CREATE TABLE ${ks}.raw_data_count (slot text PRIMARY KEY, count counter)`);
}

/** Starts the old bridge; resolves once it has subscribed. `exit` resolves with how it ended. */
/** A running old bridge: `exit` says how it ended (`at`: epoch ms). */
export interface OldBridge {
  child: ChildProcess;
  ready: Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  stderr: () => string;
}

export function startOldBridge(binary: string, { ks, subject }: { ks: string; subject: string }): OldBridge {
  const child = spawn(binary, ['-keyspace', ks, '-subject', subject, '-nats', 'nats://127.0.0.1:4222', '-cassandra', '127.0.0.1', '-consistency', 'ONE'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TZ: 'UTC', TASK_SLOT: '1' },
  });
  let err = '';
  const exit: OldBridge['exit'] = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      err += c;
      if (err.includes('old-bridge: subscribed')) resolve();
    });
    exit.then(() => reject(new Error(`old bridge exited before subscribing: ${err}`)));
  });
  return { child, ready, exit, stderr: () => err };
}

/** The first line of a Go panic, e.g. "insert: gocql: no response received from cassandra within timeout period". */
export function panicReason(stderr: string): string | undefined {
  const line = stderr.split('\n').find((l) => l.startsWith('panic: '));
  return line ? line.slice('panic: '.length).slice(0, 120) : undefined;
}

/**
 * Publishes `total` readings on core NATS at `rate` per second, paced by the clock in 5 ms
 * ticks (a late tick catches up), each tick flushed by the client. Returns the seconds it took.
 */
export async function pacedPublish(nc: NatsConnection, rate: number, total: number, subjectOf: (i: number) => string, payloadOf: (i: number) => Uint8Array): Promise<number> {
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    for (; sent < due; sent += 1) nc.publish(subjectOf(sent), payloadOf(sent));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await nc.flush();
  return (performance.now() - started) / 1000;
}

const DSBULK_VERSION = '1.10.0';

/**
 * DSBulk's jars, resolved once from Maven Central. Its binary distribution is not published
 * there, but the modules it bundles are: the same set (runner, load workflow, CSV connector,
 * reactor batcher and executor) makes a working loader.
 */
export function dsbulkJars(): string {
  const dir = cache(`dsbulk-${DSBULK_VERSION}`);
  const lib = join(dir, 'lib');
  if (existsSync(join(lib, `dsbulk-runner-${DSBULK_VERSION}.jar`))) return lib;
  const module = (a: string): string => `<dependency><groupId>com.datastax.oss</groupId><artifactId>${a}</artifactId></dependency>`;
  writeFileSync(join(dir, 'pom.xml'), `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>smartmeter.bench</groupId><artifactId>dsbulk-runtime</artifactId><version>1</version><packaging>pom</packaging>
  <dependencyManagement><dependencies>
    <dependency><groupId>com.datastax.oss</groupId><artifactId>dsbulk-bom</artifactId><version>${DSBULK_VERSION}</version><type>pom</type><scope>import</scope></dependency>
  </dependencies></dependencyManagement>
  <dependencies>
    ${['dsbulk-runner', 'dsbulk-workflow-load', 'dsbulk-connectors-csv', 'dsbulk-batcher-reactor', 'dsbulk-executor-reactor'].map(module).join('\n    ')}
  </dependencies>
</project>
`);
  const r = spawnSync('mvn', ['-B', '-q', '-f', join(dir, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${lib}`], { encoding: 'utf8' });
  if (r.status !== 0 || !readdirSync(lib).length) throw new Error(`DSBulk ${DSBULK_VERSION} did not resolve from Maven Central: ${(r.stdout + r.stderr).slice(-2000)}`);
  return lib;
}

export const dsbulkVersion = DSBULK_VERSION;

// The shortest decimal that reads back as the same float32: DSBulk refuses a longer one as lossy.
const f32Text = (x: number): string => {
  for (let p = 1; p < 9; p += 1) if (Math.fround(Number(x.toPrecision(p))) === x) return x.toPrecision(p);
  return String(x);
};

/** Writes rows (arrays in `columns` order; fractions are float32 values) as a CSV file with a header. */
export async function writeCsv(file: string, columns: string[], rows: number[][]): Promise<void> {
  const out = createWriteStream(file);
  out.write(`${columns.join(',')}\n`);
  for (let i = 0; i < rows.length; i += 1000) {
    const chunk = rows.slice(i, i + 1000).map((r) => r.map((v) => (Number.isInteger(v) ? v : f32Text(v))).join(',')).join('\n');
    if (!out.write(`${chunk}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

/**
 * `dsbulk load` of a CSV into ks.raw_data. Returns DSBulk's own rate (its operation, after the
 * JVM start and the connection) and the whole process's.
 */
export function dsbulkLoad(lib: string, { csv, ks, logDir, extra = [] }: { csv: string; ks: string; logDir: string; extra?: string[] }): { total: number; failed: number; rate: number; batches: number; processRate: number } {
  const started = performance.now();
  const r = spawnSync('java', ['-cp', `${lib}/*`, 'com.datastax.oss.dsbulk.runner.DataStaxBulkLoader', 'load', '-url', csv, '-k', ks, '-t', 'raw_data',
    '-h', '127.0.0.1', '-header', 'true', '-logDir', logDir, '--log.verbosity', 'normal', ...extra], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`dsbulk load exited ${r.status}: ${(r.stdout + r.stderr).slice(-2000)}`);
  // The last summary row: total | failed | rows/s | p50ms | p99ms | p999ms | batches
  const rowsLine = (r.stdout + r.stderr).split('\n').filter((l) => /^\s*[\d,]+\s*\|/.test(l)).pop();
  if (rowsLine === undefined) throw new Error(`dsbulk load printed no summary: ${(r.stdout + r.stderr).slice(-2000)}`);
  const [total = NaN, failed = NaN, rate = NaN, , , , batches = NaN] = rowsLine.split('|').map((s) => Number(s.trim().replace(/,/g, '')));
  return { total, failed, rate, batches, processRate: total / seconds };
}
