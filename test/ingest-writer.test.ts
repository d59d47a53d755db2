// RowWriter on the rig's Cassandra: readings go in unlogged batches (fewer requests than rows),
// every row and count arrives, a row Cassandra's types cannot hold fails alone, the routing key is
// the one Cassandra hashes (its own token() is the oracle), and a stop hands back what was not sent.
import driver from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveKeyspace } from '../src/cassandra/keyspace.js';
import { routingKey, RowWriter } from '../src/ingest/writer.js';
import type { VoltageReading } from '../src/wire/voltage.js';
import { runCli } from './helpers/cli.js';
import { rigService } from './helpers/rig.js';

const rig = rigService('cassandra');

/** Reading i: its own usage point (so its own partition) on one of five lines. */
function reading(i: number): VoltageReading {
  return { line: 11 + (i % 5), transformer: 1 + (Math.floor(i / 5) % 10), usagePoint: 1 + i, epoch: 1_700_000_000 + 60 * i, voltage: 230.5, demand: 1.5, values: [3, 4, 5, 6, 7, 8, 9, 10, 11, 12] };
}

/** Submits every reading; resolves with each one's outcome (undefined: written) once all are answered. */
function writeAll(writer: RowWriter, readings: VoltageReading[], onSubmit?: () => void): Promise<(Error | undefined)[]> {
  return new Promise((resolve) => {
    const outcomes: (Error | undefined)[] = new Array(readings.length);
    let answered = 0;
    readings.forEach((r, i) => {
      writer.submit(r, (error) => {
        outcomes[i] = error;
        if (++answered === readings.length) resolve(outcomes);
      });
      onSubmit?.();
    });
  });
}

describe.runIf(rig)('RowWriter on the rig\'s Cassandra', () => {
  const client = new driver.Client({ contactPoints: [rig?.CASSANDRA_CONTACT_POINT ?? ''], localDataCenter: rig?.CASSANDRA_LOCAL_DC ?? '' });
  const ks = `writer_${process.pid}_${Date.now() % 1_000_000}`;
  const keyspace = resolveKeyspace(ks);
  const ONE = driver.types.consistencies.one;
  const rows = async () => Number((await client.execute(`SELECT COUNT(*) FROM ${ks}.raw_data`)).first().get('count'));
  const counted = async () => (await client.execute(`SELECT count FROM ${ks}.raw_data_count`)).rows.reduce((sum, r) => sum + Number(r.get('count')), 0);

  beforeAll(async () => {
    expect(runCli(['cassandra', 'init', '--keyspace', ks]).status).toBe(0);
    await client.connect();
  }, 60_000);
  afterAll(async () => {
    await client.execute(`DROP KEYSPACE IF EXISTS ${ks}`).catch(() => undefined);
    await client.shutdown();
  }, 60_000);

  it('writes 2,000 readings in batches of 10 (at most --concurrency rows in flight): every row and every count, in a tenth of the requests', async () => {
    await client.execute(`TRUNCATE ${ks}.raw_data`);
    const writer = new RowWriter(client, { keyspace, concurrency: 100, batchSize: 10, consistency: ONE });
    let mostInFlight = 0;
    const outcomes = await writeAll(writer, Array.from({ length: 2000 }, (_, i) => reading(i)), () => (mostInFlight = Math.max(mostInFlight, writer.pending)));
    await writer.close();
    expect(outcomes.filter(Boolean)).toEqual([]);
    expect(await rows()).toBe(2000);
    expect(await counted()).toBe(2000);
    expect(writer.requests).toBe(200);
    expect(mostInFlight).toBeLessThanOrEqual(100);
    expect(mostInFlight).toBeGreaterThan(0);
  });

  it('batch size 1 writes row by row: one request per reading', async () => {
    const writer = new RowWriter(client, { keyspace, concurrency: 50, batchSize: 1, consistency: ONE });
    const outcomes = await writeAll(writer, Array.from({ length: 300 }, (_, i) => reading(10_000 + i)));
    await writer.close();
    expect(outcomes.filter(Boolean)).toEqual([]);
    expect(writer.requests).toBe(300);
  });

  it('a reading its column types cannot hold fails alone: the other rows of its batch are written', async () => {
    await client.execute(`TRUNCATE ${ks}.raw_data`);
    const readings = Array.from({ length: 10 }, (_, i) => reading(20_000 + i));
    readings[4] = { ...readings[4]!, line: 300 }; // line is a tinyint
    const writer = new RowWriter(client, { keyspace, concurrency: 50, batchSize: 10, consistency: ONE });
    const outcomes = await writeAll(writer, readings);
    await writer.close();
    expect(outcomes.map((e) => (e ? e.constructor.name : 'written'))).toEqual([...Array(4).fill('written'), 'RangeError', ...Array(5).fill('written')]);
    expect(await rows()).toBe(9);
    // One batch, refused whole, then each row alone.
    expect(writer.requests).toBe(11);
  });

  it('the routing key is the partition key Cassandra hashes: the driver\'s token of it is Cassandra\'s token()', async () => {
    await client.execute(`TRUNCATE ${ks}.raw_data`);
    const samples = [reading(1), reading(77), { ...reading(3), line: -5, transformer: 2_000_000_000, usagePoint: -1 }];
    const writer = new RowWriter(client, { keyspace, concurrency: 10, consistency: ONE });
    expect((await writeAll(writer, samples)).filter(Boolean)).toEqual([]);
    await writer.close();
    for (const r of samples) {
      const row = (await client.execute(`SELECT token(line, transformer, usagepoint) AS t FROM ${ks}.raw_data WHERE line = ? AND transformer = ? AND usagepoint = ?`,
        [r.line, r.transformer, r.usagePoint], { prepare: true })).first();
      const token = client.metadata.newToken(routingKey(r)) as unknown as { getValue(): unknown };
      expect(String(token.getValue())).toBe(String(row.get('t')));
    }
  });

  it('a stop drops what was not sent yet, each with the error given, and finishes what was', async () => {
    await client.execute(`TRUNCATE ${ks}.raw_data`);
    const writer = new RowWriter(client, { keyspace, concurrency: 20, batchSize: 10, consistency: ONE });
    const stopped = new Error('stopped');
    const pending = writeAll(writer, Array.from({ length: 100 }, (_, i) => reading(30_000 + i)));
    // Two full batches fit the 20 slots and went; the other 80 rows wait.
    expect(writer.pending).toBe(20);
    expect(writer.queued).toBe(80);
    writer.discardQueued(stopped);
    const outcomes = await pending;
    await writer.close();
    expect(outcomes.filter((e) => e === stopped)).toHaveLength(80);
    expect(outcomes.filter((e) => e === undefined)).toHaveLength(20);
    expect(await rows()).toBe(20);
  });
});
