// `smartmeter ingest` between the rig's real NATS and Cassandra: every reading becomes a row,
// malformed messages are counted, and in JetStream mode nothing is lost when Cassandra restarts;
// a NATS server gone for good ends it with exit 1 and one line, its writes finished and counted.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect as tcpConnect, createServer, type Server, type Socket } from 'node:net';
import driver from 'cassandra-driver';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeVoltagePayload, voltageSubject } from '../src/wire/voltage.js';
import { BIN, ROOT, runCli } from './helpers/cli.js';
import { OwnNatsServer } from './helpers/nats-server.js';
import { freePort, waitFor } from './helpers/net.js';
import { rigService } from './helpers/rig.js';

const natsRig = rigService('nats');
const cassandraRig = rigService('cassandra');
const rig = natsRig && cassandraRig ? { ...natsRig, ...cassandraRig } : undefined;

interface Summary {
  mode: string;
  received: number;
  written: number;
  malformed: Record<string, number>;
  lost: number;
  redelivered: number;
  handedBack: number;
  writeRequests: number;
}

/** Reading i: a distinct usage point and minute, so each is its own row. */
function reading(i: number) {
  return {
    subject: voltageSubject('smartmeter.raw', 11 + (i % 5), 1 + (Math.floor(i / 5) % 10), 1 + i),
    payload: encodeVoltagePayload({ epoch: 1_700_000_000 + 60 * i, voltage: 110 + (i % 100) / 10, demand: 100.5, values: [3, 4, 5, 6, 7, 8, 9, 10, 11, 12] }),
  };
}

function startIngest(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; summary?: Summary; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, 'ingest', '--json', ...args], { env: { PATH: process.env.PATH }, cwd: ROOT });
  let out = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const done = new Promise<{ code: number | null; summary?: Summary; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, summary: out ? (JSON.parse(out) as Summary) : undefined, stderr })),
  );
  return { child, done };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A TCP relay to Cassandra (`host:port`) whose requests can be held: ingest's writes then wait
 * for an answer (none fails, the driver waits 30 s) and complete once they are let through.
 */
async function cassandraRelay(target: string): Promise<{ port: number; hold: () => void; release: () => void; close: () => Promise<void> }> {
  const [host, port] = target.split(':');
  let held: (() => void)[] | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(Number(port ?? 9042), host!);
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => (held ? held.push(() => upstream.write(chunk)) : upstream.write(chunk)));
    upstream.on('data', (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) socket.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    hold: () => (held ??= []),
    release: () => {
      const waiting = held ?? [];
      held = undefined;
      for (const send of waiting) send();
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe.runIf(rig)('ingest on the rig', () => {
  let nats: NatsConnection;
  const cassandra = new driver.Client({ contactPoints: [rig?.CASSANDRA_CONTACT_POINT ?? ''], localDataCenter: rig?.CASSANDRA_LOCAL_DC ?? '' });
  const keyspaces: string[] = [];
  const freshKeyspace = () => {
    const ks = `ingest_${process.pid}_${Date.now() % 1_000_000}`;
    keyspaces.push(ks);
    expect(runCli(['cassandra', 'init', '--keyspace', ks]).status).toBe(0);
    return ks;
  };
  const rows = async (ks: string) => Number((await cassandra.execute(`SELECT COUNT(*) FROM ${ks}.raw_data`)).first().get('count'));
  const counted = async (ks: string) =>
    (await cassandra.execute(`SELECT count FROM ${ks}.raw_data_count`)).rows.reduce((sum, r) => sum + Number(r.get('count')), 0);

  beforeAll(async () => {
    nats = await connect({ servers: rig!.NATS_URL });
  });
  // Eight keyspaces to drop, a second or two each on a busy rig: more than the default 10 s.
  afterAll(async () => {
    await nats?.close();
    for (const ks of keyspaces) await cassandra.execute(`DROP KEYSPACE IF EXISTS ${ks}`).catch(() => undefined);
    await cassandra.shutdown();
  }, 60_000);

  it('core mode: every reading becomes a row, exactly; malformed messages are counted, not fatal', async () => {
    const ks = freshKeyspace();
    const n = 2000;
    const metricsPort = await freePort();
    const ingest = startIngest(['--server', rig!.NATS_URL!, '--keyspace', ks, '--count', String(n + 2), '--metrics-port', String(metricsPort)]);
    // The queue subscription must exist before publishing (core NATS keeps nothing).
    await waitFor(async () => {
      const connz = (await (await fetch(`${rig!.NATS_MONITOR_URL}/connz?subs=1`)).json()) as { connections: { name?: string; subscriptions_list?: string[] }[] };
      return connz.connections.some((c) => c.name === 'smartmeter-ingest' && (c.subscriptions_list ?? []).length > 0) ? true : undefined;
    }, 20_000, 'ingest to subscribe');
    // Its Prometheus endpoint answers while it runs, with the shared names.
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^smartmeter_ingest_written_total\{slot="1"\} 0$/m);
    expect(metrics).toMatch(/^# TYPE smartmeter_ingest_in_flight gauge$/m);
    expect(metrics).toMatch(/^smartmeter_ingest_queued\{slot="1"\} 0$/m);
    nats.publish('smartmeter.raw.voltage.data.eleven.1.1', reading(0).payload);
    nats.publish(voltageSubject('smartmeter.raw', 11, 1, 1), new Uint8Array(12));
    for (let i = 0; i < n; i += 1) nats.publish(reading(i).subject, reading(i).payload);
    await nats.flush();
    const { code, summary, stderr } = await ingest.done;
    expect(code, stderr).toBe(0);
    expect(summary).toMatchObject({ mode: 'core', received: n + 2, written: n, lost: 0, malformed: { 'bad-subject': 1, 'bad-length': 1 } });
    // In batches (of up to 10 rows): fewer requests than rows, never fewer than a tenth.
    expect(summary!.writeRequests).toBeGreaterThanOrEqual(n / 10);
    expect(summary!.writeRequests).toBeLessThan(n);
    expect(await rows(ks)).toBe(n);
    expect(await counted(ks)).toBe(n);
    const row = (await cassandra.execute(`SELECT * FROM ${ks}.raw_data WHERE line = 12 AND transformer = 1 AND usagepoint = 2`)).first();
    expect(row.get('voltage')).toBeCloseTo(110.1, 4);
    expect(Number(row.get('epoch'))).toBe(1_700_000_060);
    expect([row.get('year'), row.get('month'), row.get('day'), row.get('hour'), row.get('minute'), row.get('day_of_week')]).toEqual([2023, 11, 14, 22, 14, 2]);
    expect(row.get('demand')).toBeCloseTo(100.5);
    expect(row.get('val12')).toBe(12);
  });

  // Keyspace names are folded as CQL folds them, as cassandra init does (one function for both):
  // unquoted Mixed_Case is mixed_case, "Quoted" is kept as written and must be quoted in the
  // statements. Before, ingest looked the name up as typed and wrote it bare.
  it.each([
    ['an unquoted mixed-case name: the lower-case keyspace', (n: string) => ({ arg: `Ingest_M_${n}`, stored: `ingest_m_${n}` })],
    ['a "quoted" mixed-case name: kept as written', (n: string) => ({ arg: `"Ingest_Q_${n}"`, stored: `Ingest_Q_${n}` })],
  ])('%s, made by init, is the keyspace ingest writes into', async (_, spelling) => {
    const { arg, stored } = spelling(`${process.pid}_${Date.now() % 1_000_000}`);
    const ks = `"${stored}"`; // as CQL writes it here
    keyspaces.push(ks);
    const init = runCli(['cassandra', 'init', '--keyspace', arg, '--json']);
    expect(init.status, init.stderr).toBe(0);
    expect((JSON.parse(init.stdout) as { keyspace: string }).keyspace).toBe(stored);
    const stream = `KSNAME_${Date.now()}`;
    const prefix = stream.toLowerCase();
    const manager = await nats.jetstreamManager();
    await manager.streams.add({ name: stream, subjects: [`${prefix}.voltage.data.>`] });
    try {
      const n = 25;
      const js = nats.jetstream();
      for (let i = 0; i < n; i += 1) await js.publish(reading(i).subject.replace('smartmeter.raw', prefix), reading(i).payload);
      const run = await startIngest(['--server', rig!.NATS_URL!, '--keyspace', arg, '--subject-prefix', prefix, '--jetstream', stream, '--count', String(n), '--wait', '10']).done;
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).not.toMatch(/waiting for/);
      expect(run.summary).toMatchObject({ written: n, lost: 0, redelivered: 0 });
      expect(await rows(ks)).toBe(n);
      expect(await counted(ks)).toBe(n);
      // cassandra stats, given the same spelling, finds those rows.
      const stats = runCli(['cassandra', 'stats', '--keyspace', arg, '--json', '--wait', '10']);
      expect(stats.status, stats.stderr).toBe(0);
      const json = JSON.parse(stats.stdout) as { keyspace: string; tables: { table: string; rows?: number; rowsFrom: string }[] };
      expect(json.keyspace).toBe(stored);
      expect(json.tables.find((t) => t.table === 'raw_data')).toMatchObject({ rows: n, rowsFrom: 'counter' });
    } finally {
      await manager.streams.delete(stream);
    }
  }, 60_000);

  it('jetstream mode and a missing stream: refused, naming --create-stream; with it, the stream is made for <prefix>.>', async () => {
    const ks = freshKeyspace();
    const stream = `MADE_${Date.now()}`;
    const prefix = stream.toLowerCase();
    const args = ['ingest', '--server', rig!.NATS_URL!, '--keyspace', ks, '--subject-prefix', prefix, '--jetstream', stream, '--duration', '1s'];
    const refused = runCli(args);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`^smartmeter: JetStream stream "${stream}" does not exist on the server: .*--create-stream$`, 'm'));
    const made = runCli([...args, '--create-stream']);
    expect(made.status, made.stderr).toBe(0);
    expect(made.stderr).toContain(`created JetStream stream ${stream} for ${prefix}.>`);
    const manager = await nats.jetstreamManager();
    expect((await manager.streams.info(stream)).config.subjects).toEqual([`${prefix}.>`]);
    await manager.streams.delete(stream);
  });

  it('jetstream mode: Cassandra stopped and started in the middle, and still every reading is stored', async () => {
    const ks = freshKeyspace();
    const stream = `INGEST_${Date.now()}`;
    const manager = await nats.jetstreamManager();
    await manager.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.voltage.data.>`] });
    const n = 20_000;
    const js = nats.jetstream();
    const prefix = stream.toLowerCase();
    for (let start = 0; start < n; start += 1000) {
      await Promise.all(Array.from({ length: 1000 }, (_, k) => {
        const r = reading(start + k);
        return js.publish(r.subject.replace('smartmeter.raw', prefix), r.payload);
      }));
    }
    const ingest = startIngest(['--server', rig!.NATS_URL!, '--keyspace', ks, '--subject-prefix', prefix, '--jetstream', stream, '--count', String(n), '--concurrency', '64']);
    await waitFor(async () => ((await rows(ks)) > 1000 ? true : undefined), 60_000, 'the first rows');
    const down = spawnSync('npm', ['run', '--silent', 'rig', '--', 'down', 'cassandra'], { cwd: ROOT, encoding: 'utf8' });
    expect(down.status, down.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 2000));
    const up = spawnSync('npm', ['run', '--silent', 'rig', '--', 'up', 'cassandra'], { cwd: ROOT, encoding: 'utf8' });
    expect(up.status, up.stderr).toBe(0);
    const { code, summary, stderr } = await ingest.done;
    expect(code, stderr).toBe(0);
    expect(summary!.written).toBe(n);
    expect(summary!.redelivered).toBeGreaterThan(0);
    const check = new driver.Client({ contactPoints: [rig!.CASSANDRA_CONTACT_POINT!], localDataCenter: rig!.CASSANDRA_LOCAL_DC! });
    try {
      expect(Number((await check.execute(`SELECT COUNT(*) FROM ${ks}.raw_data`)).first().get('count'))).toBe(n);
    } finally {
      await check.shutdown();
    }
    await manager.streams.delete(stream);
  }, 240_000);

  it('jetstream mode: SIGTERM mid-run finishes the writes under way, and a second ingest stores all the rest', async () => {
    const ks = freshKeyspace();
    const stream = `SIGTERM_${Date.now()}`;
    const prefix = stream.toLowerCase();
    const manager = await nats.jetstreamManager();
    await manager.streams.add({ name: stream, subjects: [`${prefix}.voltage.data.>`] });
    const n = 20_000;
    const js = nats.jetstream();
    for (let start = 0; start < n; start += 1000) {
      await Promise.all(Array.from({ length: 1000 }, (_, k) => {
        const r = reading(start + k);
        return js.publish(r.subject.replace('smartmeter.raw', prefix), r.payload);
      }));
    }
    // A small write window, so the run is long enough to be stopped in the middle.
    const args = ['--server', rig!.NATS_URL!, '--keyspace', ks, '--subject-prefix', prefix, '--jetstream', stream, '--concurrency', '16'];
    const first = startIngest(args);
    await waitFor(async () => ((await rows(ks)) > 1000 ? true : undefined), 60_000, 'the first rows');
    first.child.kill('SIGTERM');
    const stopped = await first.done;
    expect(stopped.code, stopped.stderr).toBe(0);
    const written = stopped.summary!.written;
    expect(written).toBeGreaterThan(1000);
    expect(written).toBeLessThan(n);
    expect(await rows(ks)).toBe(written); // every write under way finished, none half-done
    // The rest comes to a second ingest: the readings the first one handed back, and any it
    // held or had on the wire when it unsubscribed. The server delivers nothing into the pull
    // request after the unsubscribe, but messages it sent just before are dropped by the stopping
    // client and come back only after the 30 s ack wait (seen with nats-server 2.9 and 2.15).
    // At-least-once: a reading may be written twice (same row), none is lost.
    const second = startIngest(args);
    await waitFor(async () => ((await rows(ks)) >= n ? true : undefined), 60_000, 'every row');
    second.child.kill('SIGTERM');
    const rest = await second.done;
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.summary!.written).toBeGreaterThanOrEqual(n - written);
    expect(await rows(ks)).toBe(n);
    expect(await counted(ks)).toBeGreaterThanOrEqual(n);
    await manager.streams.delete(stream);
  }, 120_000);

  // Issue 16: each ingest start re-created the shared durable consumer with its own settings, so
  // instances started with other flags reconfigured each other (nats-server 2.9) or, where the
  // server refuses a different "create" (2.10 and later: the rig's), the second one died with
  // "consumer already exists". Now: created when missing, used as it is when it exists, the
  // tuning that differs said in one line; a consumer reading other subjects is refused.
  async function sharedConsumer(url: string): Promise<void> {
    const ks = freshKeyspace();
    const stream = `SHARED_${Date.now()}`;
    const prefix = stream.toLowerCase();
    const client = await connect({ servers: url });
    try {
      const manager = await client.jetstreamManager();
      await manager.streams.add({ name: stream, subjects: [`${prefix}.voltage.data.>`] });
      const args = ['--server', url, '--keyspace', ks, '--subject-prefix', prefix, '--jetstream', stream];
      const consumer = async () => (await manager.consumers.info(stream, 'ingest')).config;

      const first = await startIngest([...args, '--concurrency', '4', '--duration', '1s']).done;
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toMatch(new RegExp(`^ingest: created the JetStream consumer "ingest" of stream ${stream} for ${prefix}\\.voltage\\.data\\.> \\(max_ack_pending 8, ack wait 30 s\\)$`, 'm'));
      expect(await consumer()).toMatchObject({ max_ack_pending: 8, ack_wait: 30_000_000_000, filter_subject: `${prefix}.voltage.data.>`, ack_policy: 'explicit' });

      const js = client.jetstream();
      for (let i = 0; i < 50; i += 1) await js.publish(reading(i).subject.replace('smartmeter.raw', prefix), reading(i).payload);
      const second = await startIngest([...args, '--concurrency', '32', '--count', '50']).done;
      expect(second.code, second.stderr).toBe(0);
      expect(second.summary!.written).toBe(50);
      expect(second.stderr.split('\n').filter(Boolean), second.stderr).toEqual([
        `ingest: the JetStream consumer "ingest" of stream ${stream} exists with other settings, used as it is: max_ack_pending 8 (--concurrency 32 would make it 64)`,
      ]);
      expect(await consumer()).toMatchObject({ max_ack_pending: 8, filter_subject: `${prefix}.voltage.data.>` });
      expect(await rows(ks)).toBe(50);

      // Reading other subjects through it would read other readings than asked: refused, naming the difference.
      const other = runCli(['ingest', ...args, '--subject', `${prefix}.voltage.data.11.>`, '--duration', '1s']);
      expect(other.status, other.stderr).toBe(1);
      expect(other.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(other.stderr).toMatch(new RegExp(`^smartmeter: the JetStream consumer "ingest" of stream ${stream} exists with other settings: ` +
        `filter_subject ${prefix}\\.voltage\\.data\\.> \\(this ingest reads ${prefix}\\.voltage\\.data\\.11\\.>\\); max_ack_pending 8 \\(--concurrency 512 would make it 1024\\); not used and left as it is`));
      expect(await consumer()).toMatchObject({ max_ack_pending: 8, filter_subject: `${prefix}.voltage.data.>` });
      await manager.streams.delete(stream);
    } finally {
      await client.close();
    }
  }

  it('jetstream mode: the shared durable consumer is created when missing and used as it is by an ingest with other flags', async () => {
    await sharedConsumer(rig!.NATS_URL!);
  }, 60_000);

  // Debian's nats-server 2.9 updated the consumer on each start: the case the issue describes.
  it.runIf(existsSync('/usr/sbin/nats-server'))('jetstream mode: the same on nats-server 2.9 (Debian), which would reconfigure it', async () => {
    const server = new OwnNatsServer('/usr/sbin/nats-server');
    try {
      await server.start();
      await sharedConsumer(server.url);
    } finally {
      await server.dispose();
    }
  }, 60_000);

  it('end to end: smartmeter inject → JetStream → smartmeter ingest → Cassandra, every reading a row', async () => {
    const ks = freshKeyspace();
    const stream = `E2E_${Date.now()}`;
    const prefix = stream.toLowerCase();
    // One cycle of 2 × 10 × 500 points: a temperature, a forecast and 10,000 readings, each its own row.
    const inject = runCli(['inject', '--server', rig!.NATS_URL!, '--subject-prefix', prefix, '--jetstream', stream, '--create-stream',
      '--meters', '2x10x500', '--rate', '5000', '--slack', '2s', '--count', '10002', '--sim-start', '2024-01-15T06:00:00Z', '--seed', '7', '--json']);
    expect(inject.status, inject.stderr).toBe(0);
    expect(JSON.parse(inject.stdout)).toMatchObject({ published: 10_002, confirmed: 10_002, lost: 0, kinds: { temperature: 1, forecast: 1, voltage: 10_000 } });
    const ingest = startIngest(['--server', rig!.NATS_URL!, '--keyspace', ks, '--subject-prefix', prefix, '--jetstream', stream, '--count', '10000']);
    const { code, summary, stderr } = await ingest.done;
    expect(code, stderr).toBe(0);
    expect(summary).toMatchObject({ written: 10_000, malformed: { 'bad-subject': 0, 'bad-length': 0, 'bad-epoch': 0 } });
    expect(await rows(ks)).toBe(10_000);
    const perLine = (await cassandra.execute(`SELECT line, count FROM ${ks}.raw_data_count`)).rows.map((r) => [r.get('line'), Number(r.get('count'))]);
    expect(perLine.sort()).toEqual([[11, 5000], [12, 5000]]);
    // The first reading, in the first second of the run: Monday 15 January 2024, 06:00 UTC (day_of_week with Sunday = 0), and values in the old ranges.
    const row = (await cassandra.execute(`SELECT * FROM ${ks}.raw_data WHERE line = 11 AND transformer = 1 AND usagepoint = 1`)).first();
    expect([row.get('year'), row.get('month'), row.get('day'), row.get('hour'), row.get('minute'), row.get('day_of_week')]).toEqual([2024, 1, 15, 6, 0, 1]);
    expect(row.get('voltage')).toBeGreaterThan(110);
    expect(row.get('voltage')).toBeLessThan(125);
    expect(row.get('demand')).toBeGreaterThanOrEqual(100);
    expect(row.get('demand')).toBeLessThan(101);
    expect(row.get('val12')).toBeGreaterThanOrEqual(12);
    expect(row.get('val12')).toBeLessThan(13);
    await (await nats.jetstreamManager()).streams.delete(stream);
  }, 120_000);

  it("honours the old bridge's environment: NATS_URI, NATS_*_FILE credentials, CASSANDRA_URL, NATS_SUBJECT", async () => {
    const ks = freshKeyspace();
    const auth = await connect({
      servers: rig!.NATS_AUTH_URL,
      user: readFileSync(rig!.NATS_AUTH_USER_FILE!, 'utf8'),
      pass: readFileSync(rig!.NATS_AUTH_PASSWORD_FILE!, 'utf8'),
    });
    try {
      const child = spawn(process.execPath, [BIN, 'ingest', '--json', '--keyspace', ks, '--count', '50'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          NATS_URI: rig!.NATS_AUTH_URL,
          NATS_USERNAME_FILE: rig!.NATS_AUTH_USER_FILE,
          NATS_PASSWORD_FILE: rig!.NATS_AUTH_PASSWORD_FILE,
          NATS_SUBJECT: 'legacy.voltage.data.>',
          CASSANDRA_URL: rig!.CASSANDRA_CONTACT_POINT!.split(':')[0],
          CASSANDRA_INJECT_CONSISTENCY: 'LOCAL_ONE',
        },
      });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      const closed = new Promise((resolve) => child.on('close', resolve));
      await waitFor(async () => {
        const connz = (await (await fetch(`${rig!.NATS_AUTH_MONITOR_URL}/connz?subs=1`)).json()) as { connections: { name?: string; subscriptions_list?: string[] }[] };
        return connz.connections.some((c) => c.name === 'smartmeter-ingest' && (c.subscriptions_list ?? []).includes('legacy.voltage.data.>')) ? true : undefined;
      }, 20_000, 'ingest to subscribe with the credentials from files');
      for (let i = 0; i < 50; i += 1) auth.publish(reading(i).subject.replace('smartmeter.raw', 'legacy'), reading(i).payload);
      await auth.flush();
      expect(await closed).toBe(0);
      expect((JSON.parse(out) as Summary).written).toBe(50);
      expect(await rows(ks)).toBe(50);
    } finally {
      await auth.close();
    }
  });

  // The NATS server killed for good while writes are under way: the connection closes once the
  // reconnection gives up (--wait 1: two attempts, about 1.2 s), and ingest must end with exit 1
  // and one line naming the close, with the writes it took finished and counted, and no crash
  // from the acknowledgements of those that complete after the close.
  describe('when its NATS server is killed for good', () => {
    let server: OwnNatsServer;
    let relay: Awaited<ReturnType<typeof cassandraRelay>>;
    beforeAll(async () => {
      server = new OwnNatsServer();
      relay = await cassandraRelay(rig!.CASSANDRA_CONTACT_POINT!);
    });
    afterAll(async () => {
      await relay?.close();
      await server?.dispose();
    });
    const ingestArgs = (ks: string) => ['--server', server.url, '--contact-points', '127.0.0.1', '--port', String(relay.port), '--keyspace', ks, '--subject-prefix', 'gone', '--wait', '1'];

    /** Holds Cassandra's requests, kills the server, lets the writes through once ingest has given up on NATS. */
    async function killWithWritesUnderWay(): Promise<void> {
      relay.hold();
      await sleep(300); // the writes under way and the readings queued behind them wait
      await server.kill();
      await sleep(3000); // the reconnection gives up about 1.2 s after the kill
      relay.release();
    }

    function expectOneLineNamingTheClose(run: { code: number | null; summary?: Summary; stderr: string }): void {
      expect(run.code, run.stderr).toBe(1);
      expect(run.summary).toBeUndefined();
      expect(run.stderr).toMatch(/^ingest: lost the NATS connection \(127\.0\.0\.1:\d+\); reconnecting: 2 attempts 0\.5 s apart/m);
      expect(run.stderr).toMatch(/^smartmeter: NATS connection closed: reconnecting gave up \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)$/m);
      expect(run.stderr.match(/^smartmeter: /gm)).toHaveLength(1);
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(run.stderr).not.toMatch(/uncaught|internal error|--debug/i);
    }

    it('jetstream mode: exit 1 naming the close; the rows written are counted; acks after the close are no-ops', async () => {
      const ks = freshKeyspace();
      await server.start();
      const n = 20_000;
      const client = await connect({ servers: server.url });
      await (await client.jetstreamManager()).streams.add({ name: 'GONE', subjects: ['gone.voltage.data.>'] });
      const js = client.jetstream();
      for (let start = 0; start < n; start += 1000) {
        await Promise.all(Array.from({ length: 1000 }, (_, k) => {
          const r = reading(start + k);
          return js.publish(r.subject.replace('smartmeter.raw', 'gone'), r.payload);
        }));
      }
      await client.close();
      const ingest = startIngest([...ingestArgs(ks), '--jetstream', 'GONE', '--concurrency', '64']);
      await waitFor(async () => ((await rows(ks)) > 1000 ? true : undefined), 60_000, 'the first rows');
      await killWithWritesUnderWay();
      const run = await ingest.done;
      expectOneLineNamingTheClose(run);
      // The writes under way completed after the close: their acks (and the naks of the readings
      // queued behind them) could not be sent, and that is said once.
      expect(run.stderr.match(/^ingest: \d+ JetStream answers \(ack, nak, term\) not sent: the NATS connection had closed;/gm), run.stderr).toHaveLength(1);
      const written = await rows(ks);
      expect(written).toBeGreaterThan(1000);
      expect(written).toBeLessThan(n);
      expect(await counted(ks)).toBe(written);
    }, 120_000);

    it('core mode: exit 1 naming the close; every reading taken is written and counted', async () => {
      const ks = freshKeyspace();
      await server.start();
      const metricsPort = await freePort();
      const ingest = startIngest([...ingestArgs(ks), '--metrics-port', String(metricsPort)]);
      await waitFor(async () => ((await fetch(`http://127.0.0.1:${metricsPort}/ready`)).ok ? true : undefined), 20_000, 'ingest to subscribe');
      // A burst taken while Cassandra's answers are held: all of it is queued or under way at the kill.
      relay.hold();
      const n = 5000;
      const client = await connect({ servers: server.url });
      for (let i = 0; i < n; i += 1) client.publish(reading(i).subject.replace('smartmeter.raw', 'gone'), reading(i).payload);
      await client.flush();
      await client.close();
      await waitFor(async () => {
        const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        return new RegExp(`^smartmeter_ingest_received_total\\{slot="1"\\} ${n}$`, 'm').test(metrics) ? true : undefined;
      }, 20_000, 'ingest to receive the burst');
      await killWithWritesUnderWay();
      const run = await ingest.done;
      expectOneLineNamingTheClose(run);
      expect(await rows(ks)).toBe(n);
      expect(await counted(ks)).toBe(n);
    }, 120_000);
  });
});

describe('ingest bad input and failures end quickly with one line', () => {
  it.each([
    [['--count', '0'], 2, /^smartmeter: --count must be a positive whole number, got "0"\n$/],
    [['--batch-size', '0'], 2, /^smartmeter: --batch-size must be a positive whole number, got "0"\n$/],
    [['--retries', '-1'], 2, /^smartmeter: --retries must be a whole number ≥ 0/],
    [['--duration', '5x'], 2, /^smartmeter: --duration: cannot read the duration "5x"/],
    [['--consistency', 'MOST'], 2, /^smartmeter: unknown consistency "MOST"/],
    [['--keyspace', 'no-dashes'], 2, /is not a valid keyspace name/],
    // Refused as cassandra init refuses them: a reserved word of CQL unquoted, a quoted name Cassandra would refuse.
    [['--keyspace', 'select', '--wait', '1', '--duration', '1s'], 2, /^smartmeter: "select" is a reserved word of CQL: quote it \(--keyspace '"select"'\) or choose another name\n$/],
    [['--keyspace', 'Table', '--wait', '1', '--duration', '1s'], 2, /^smartmeter: "Table" is a reserved word of CQL: quote it \(--keyspace '"table"'\) or choose another name\n$/],
    [['--keyspace', '"a-b"', '--wait', '1', '--duration', '1s'], 2, /^smartmeter: ""a-b"" is not a valid keyspace name \(Cassandra allows letters, digits and _ only\)\n$/],
    // A client certificate without its key, or a key alone: refused before connecting (issue 16).
    [['--tls-key', '/nonexistent/client.key', '--wait', '1', '--duration', '1s'], 2, /^smartmeter: --tls-cert and --tls-key go together \(a client certificate and its key\): --tls-key was given without --tls-cert\n$/],
    [['--tls-ca', '/nonexistent/ca.pem', '--tls-cert', '/nonexistent/client.pem', '--wait', '1', '--duration', '1s'], 2, /^smartmeter: --tls-cert and --tls-key go together \(a client certificate and its key\): --tls-cert was given without --tls-key\n$/],
  ])('%j', (args, code, message) => {
    const started = Date.now();
    const run = runCli(['ingest', ...args]);
    expect(run.status).toBe(code);
    expect(run.stderr).toMatch(message);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it.runIf(natsRig)('an unreachable Cassandra: exit 1 after --wait, NATS closed, no hang', async () => {
    const closed = await freePort();
    const started = Date.now();
    const run = runCli(['ingest', '--server', natsRig!.NATS_URL!, '--port', String(closed), '--wait', '2']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^ingest: waiting for Cassandra: .*ECONNREFUSED.*\nsmartmeter: cannot reach Cassandra at 127\.0\.0\.1 \(port \d+\) after 2 s: .*\n$/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('an unreachable NATS: retried for --wait, then exit 1, and the password in its URL is not printed', async () => {
    const closed = await freePort();
    const started = Date.now();
    const run = runCli(['ingest', '--server', `nats://someone:s3cret-pw@127.0.0.1:${closed}`, '--wait', '2']);
    expect(run.status).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(run.stderr).toMatch(new RegExp(`^ingest: waiting for NATS: .*\\nsmartmeter: cannot connect to NATS at nats://127\\.0\\.0\\.1:${closed}: `));
    expect(run.stderr).not.toContain('s3cret-pw');
  });
});
