// Smoke test of the rig's Cassandra: a CQL round-trip (keyspace, table, write, read).
import driver from 'cassandra-driver';
import { afterAll, describe, expect, it } from 'vitest';
import { rigService } from './helpers/rig.js';

const rig = rigService('cassandra');

describe.runIf(rig)('the rig Cassandra', () => {
  const client = new driver.Client({ contactPoints: [rig?.CASSANDRA_CONTACT_POINT ?? ''], localDataCenter: rig?.CASSANDRA_LOCAL_DC ?? '' });
  afterAll(() => client.shutdown());

  it('answers CQL with its release version', async () => {
    const row = (await client.execute('SELECT release_version FROM system.local')).first();
    expect(row.get('release_version')).toBe(rig!.CASSANDRA_VERSION);
  });

  it('creates a keyspace and a table, writes and reads a row', async () => {
    const keyspace = `rig_smoke_${Date.now()}`;
    await client.execute(`CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
    await client.execute(`CREATE TABLE ${keyspace}.readings (line tinyint, epoch bigint, voltage float, PRIMARY KEY (line, epoch))`);
    await client.execute(`INSERT INTO ${keyspace}.readings (line, epoch, voltage) VALUES (?, ?, ?)`, [11, 1_700_000_000, 117.5], { prepare: true });
    const row = (await client.execute(`SELECT voltage FROM ${keyspace}.readings WHERE line = ? AND epoch = ?`, [11, 1_700_000_000], { prepare: true })).first();
    expect(row.get('voltage')).toBeCloseTo(117.5);
    await client.execute(`DROP KEYSPACE ${keyspace}`);
  });
});
