/**
 * NATS connection options from plain values, with the old containers' environment as
 * fallback (NATS_URI, NATS_USERNAME[_FILE], NATS_PASSWORD[_FILE]).
 */
import type { ConnectionOptions } from 'nats';
import { readSecretFile } from '../options.js';

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


/** NATS_URI may carry credentials itself (nats://user:pass@host:4222), as the old containers built it. */
export function natsSettingsFromEnv(env: NodeJS.ProcessEnv): Partial<NatsSettings> {
  const settings: Partial<NatsSettings> = {};
  if (env.NATS_URI) settings.servers = env.NATS_URI.split(',').map((s) => s.trim());
  const user = env.NATS_USERNAME_FILE ? readSecretFile(env.NATS_USERNAME_FILE, 'NATS user') : env.NATS_USERNAME;
  const password = env.NATS_PASSWORD_FILE ? readSecretFile(env.NATS_PASSWORD_FILE, 'NATS password') : env.NATS_PASSWORD;
  if (user) settings.user = user;
  if (password) settings.password = password;
  return settings;
}

export async function natsConnectionOptions(settings: NatsSettings): Promise<ConnectionOptions> {
  const options: ConnectionOptions = {
    servers: settings.servers,
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
