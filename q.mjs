import c from 'cassandra-driver';
const cl = new c.Client({ contactPoints: ['127.0.0.1:19042'], localDataCenter: 'dc1' });
const r = await cl.execute('SELECT count(*) FROM smartmeter.raw_data WHERE line = 61 ALLOW FILTERING');
console.log(r.rows[0].count.toString());
const r2 = await cl.execute('SELECT count(*) FROM smartmeter.raw_data');
console.log(r2.rows[0].count.toString());
await cl.shutdown();
