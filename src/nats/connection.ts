/**
 * NATS connection options from plain values, with the old containers' environment as
 * fallback (NATS_URI, NATS_USERNAME[_FILE], NATS_PASSWORD[_FILE]).
 */
import type { ConnectionOptions, NatsConnection } from 'nats';
import { UsageError } from '../errors.js';
import { checkTlsPair, readSecretFile } from '../parsers.js';

export interface NatsSettings {
  servers: string[];
  user?: string;
  password?: string;
  token?: string;
  /** A NATS credentials (.creds) file. */
  credsFile?: string;
  /** A file holding an NKey seed (SU…). */
  nkeyFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  name?: string;
}

/**
 * The TLS settings of the flags --tls-ca, --tls-cert and --tls-key: TLS is on with a CA to trust
 * or a client certificate. A client certificate goes with its key: one of the two alone is
 * refused (it would otherwise be dropped without a word, or the other one missed).
 */
export function natsTlsSettings(flags: { tlsCa?: string; tlsCert?: string; tlsKey?: string }): NatsSettings['tls'] {
  checkTlsPair(flags.tlsCert, flags.tlsKey);
  return flags.tlsCa || flags.tlsCert ? { caFile: flags.tlsCa, certFile: flags.tlsCert, keyFile: flags.tlsKey } : undefined;
}

/**
 * The old containers' NATS variables. Credentials come from NATS_USERNAME / NATS_PASSWORD, or
 * else from the files NATS_USERNAME_FILE / NATS_PASSWORD_FILE (the old entrypoint's order); they
 * are read only when `credentials` is true, i.e. when no credential was given as a flag.
 * NATS_URI may also carry them (nats://user:pass@host:4222): see natsConnectionOptions.
 */
export function natsSettingsFromEnv(env: NodeJS.ProcessEnv, credentials = true): Partial<NatsSettings> {
  const settings: Partial<NatsSettings> = {};
  if (env.NATS_URI) settings.servers = env.NATS_URI.split(',').map((s) => s.trim()).filter(Boolean);
  if (!credentials) return settings;
  const user = env.NATS_USERNAME || (env.NATS_USERNAME_FILE ? readSecretFile(env.NATS_USERNAME_FILE, 'NATS user') : undefined);
  const password = env.NATS_PASSWORD || (env.NATS_PASSWORD_FILE ? readSecretFile(env.NATS_PASSWORD_FILE, 'NATS password') : undefined);
  if (user) settings.user = user;
  if (password) settings.password = password;
  return settings;
}

/**
 * nats://user:pass@host:4222 → the credentials and nats://host:4222. The NATS client ignores
 * credentials in server URLs, and the old containers put them exactly there.
 */
export function splitServerCredentials(url: string): { server: string; user?: string; password?: string } {
  const match = /^([a-z]+:\/\/)([^/@]*)@(.*)$/i.exec(url.trim());
  if (!match) return { server: url.trim() };
  const [name, ...rest] = match[2]!.split(':');
  return {
    server: `${match[1]}${match[3]}`,
    user: name ? decodeURIComponent(name) : undefined,
    password: rest.length ? decodeURIComponent(rest.join(':')) : undefined,
  };
}

/** nats://user:pass@host:4222 → nats://host:4222, for messages. */
export function withoutCredentials(url: string): string {
  return splitServerCredentials(url).server;
}

export async function natsConnectionOptions(settings: NatsSettings): Promise<ConnectionOptions> {
  const servers = settings.servers.map(splitServerCredentials);
  const fromUrl = servers.find((s) => s.user !== undefined);
  if (fromUrl && settings.user === undefined && !settings.token && !settings.credsFile && !settings.nkeyFile) {
    settings = { ...settings, user: fromUrl.user, password: fromUrl.password };
  }
  if (settings.tls) checkTlsPair(settings.tls.certFile, settings.tls.keyFile);
  for (const file of [settings.tls?.caFile, settings.tls?.certFile, settings.tls?.keyFile]) {
    if (file !== undefined) readSecretFile(file, 'TLS'); // a missing file is bad input, said before connecting
  }
  const options: ConnectionOptions = {
    servers: servers.map((s) => s.server),
    name: settings.name,
    timeout: 5000,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: false,
  };
  if (settings.user !== undefined) {
    options.user = settings.user;
    options.pass = settings.password ?? '';
  }
  if (settings.token) options.token = settings.token;
  if (settings.credsFile) {
    const { credsAuthenticator } = await import('nats');
    options.authenticator = credsAuthenticator(new TextEncoder().encode(readSecretFile(settings.credsFile, 'NATS credentials')));
  }
  if (settings.nkeyFile) {
    const { nkeyAuthenticator } = await import('nats');
    options.authenticator = nkeyAuthenticator(new TextEncoder().encode(readSecretFile(settings.nkeyFile, 'NATS NKey seed')));
  }
  if (settings.tls) options.tls = { caFile: settings.tls.caFile, certFile: settings.tls.certFile, keyFile: settings.tls.keyFile };
  return options;
}

/**
 * The client's raw writer (nats.js 2.x ProtocolHandler.sendCommand), if this nats.js has one:
 * whole protocol frames written as they are, for the hot paths (inject's PUB frames, ingest's acks).
 */
export function protocolWriter(nc: NatsConnection): ((bytes: Uint8Array) => void) | undefined {
  const protocol = (nc as unknown as { protocol?: { sendCommand?: (bytes: Uint8Array) => void } }).protocol;
  if (typeof protocol?.sendCommand !== 'function') return undefined;
  return (bytes) => protocol.sendCommand!(bytes);
}
