// Smoke test of the rig's NATS: publish/subscribe on the plain, password and TLS servers,
// refusals for wrong credentials, and JetStream.
import { readFileSync } from 'node:fs';
import { connect, StringCodec, type ConnectionOptions, type NatsConnection } from 'nats';
import { afterAll, describe, expect, it } from 'vitest';
import { rigService } from './helpers/rig.js';

const rig = rigService('nats');
const codec = StringCodec();
const opened: NatsConnection[] = [];
afterAll(async () => Promise.all(opened.map((c) => c.close())));

async function open(options: ConnectionOptions): Promise<NatsConnection> {
  const connection = await connect({ timeout: 3000, reconnect: false, ...options });
  opened.push(connection);
  return connection;
}

async function roundTrip(connection: NatsConnection): Promise<string> {
  const subject = `rig.smoke.${Math.random().toString(36).slice(2)}`;
  const subscription = connection.subscribe(subject, { max: 1 });
  connection.publish(subject, codec.encode('hello'));
  for await (const message of subscription) return codec.decode(message.data);
  throw new Error('subscription ended without a message');
}

describe.runIf(rig)('the rig NATS', () => {
  const v = rig!;

  it('plain: publish and subscribe', async () => {
    expect(await roundTrip(await open({ servers: v.NATS_URL! }))).toBe('hello');
  });

  it('auth: the generated user and password work, a wrong password is refused', async () => {
    const user = readFileSync(v.NATS_AUTH_USER_FILE!, 'utf8');
    const pass = readFileSync(v.NATS_AUTH_PASSWORD_FILE!, 'utf8');
    expect(await roundTrip(await open({ servers: v.NATS_AUTH_URL!, user, pass }))).toBe('hello');
    await expect(open({ servers: v.NATS_AUTH_URL!, user, pass: `${pass}x` })).rejects.toThrow(/AUTHORIZATION_VIOLATION|Authorization/i);
  });

  it('tls: a client certificate from the rig CA works, no certificate is refused', async () => {
    const tls = { caFile: v.NATS_TLS_CA!, certFile: v.NATS_TLS_CERT!, keyFile: v.NATS_TLS_KEY! };
    expect(await roundTrip(await open({ servers: v.NATS_TLS_URL!, tls }))).toBe('hello');
    await expect(open({ servers: v.NATS_TLS_URL!, tls: { caFile: v.NATS_TLS_CA! } })).rejects.toThrow();
  });

  it('jetstream: a stream takes a message and acknowledges it', async () => {
    const connection = await open({ servers: v.NATS_URL! });
    const manager = await connection.jetstreamManager();
    const name = `RIG_SMOKE_${Date.now()}`;
    await manager.streams.add({ name, subjects: [`${name}.>`] });
    const ack = await connection.jetstream().publish(`${name}.x`, codec.encode('kept'));
    expect(ack.stream).toBe(name);
    expect((await manager.streams.info(name)).state.messages).toBe(1);
    await manager.streams.delete(name);
  });
});
