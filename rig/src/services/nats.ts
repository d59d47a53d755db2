/**
 * NATS for the tests: the rig's own nats-server (a current release built from source, see
 * ../nats-build.ts; not Debian's 2.9), three instances on 127.0.0.1, each with JetStream stored
 * under the rig's directory:
 *   plain  client 4222, monitoring 8222
 *   auth   client 4223, monitoring 8223, user/password generated once (files, mode 0600)
 *   tls    client 4224, monitoring 8224, mutual TLS with a CA and certificates made at start
 * Its values include the binary (NATS_SERVER) and its version (NATS_SERVER_VERSION), for tests
 * that start a server of their own.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages } from '../install.ts';
import { NATS_SERVER_VERSION, natsServerBinary } from '../nats-build.ts';
import { canConnect, ensurePortFree, isRunning, run, startDaemon, stopProcess, waitUntil, type ProcessRecord } from '../process.ts';
import { serviceDir, type ServiceState } from '../state.ts';
import type { RigContext, RigService } from '../service.ts';

interface Instance {
  name: 'plain' | 'auth' | 'tls';
  port: number;
  monitorPort: number;
}

const INSTANCES: Instance[] = [
  { name: 'plain', port: 4222, monitorPort: 8222 },
  { name: 'auth', port: 4223, monitorPort: 8223 },
  { name: 'tls', port: 4224, monitorPort: 8224 },
];

export const nats: RigService = {
  name: 'nats',
  describe: `nats-server ${NATS_SERVER_VERSION} (built with go install through the Go module proxy) on 127.0.0.1: plain :4222, user/password :4223, mutual TLS :4224 (JetStream on all)`,

  async up(ctx: RigContext, previous?: ServiceState): Promise<ServiceState> {
    ensureDebianPackages({ openssl: 'openssl' }, ctx.log);
    const server = natsServerBinary(ctx);
    const dir = serviceDir('nats');
    const values: Record<string, string> = { NATS_SERVER: server, NATS_SERVER_VERSION };
    const processes: ProcessRecord[] = [];
    for (const instance of INSTANCES) {
      const home = join(dir, instance.name);
      mkdirSync(home, { recursive: true, mode: 0o700 });
      const recorded = previous?.processes.find((p) => p.name === `nats-${instance.name}` && isRunning(p));
      // Kept only when it runs this binary at this version; one of an older rig (Debian's
      // nats-server, another version) is the rig's own process, so it is stopped and replaced.
      const current = recorded?.executable === server && previous?.values.NATS_SERVER_VERSION === NATS_SERVER_VERSION;
      if (recorded && !current) {
        ctx.log(`nats: stopping ${recorded.name} (pid ${recorded.pid}, ${recorded.executable}) to start nats-server ${NATS_SERVER_VERSION}`);
        await stopProcess(recorded);
      }
      const running = current ? recorded : undefined;
      if (running) {
        processes.push(running);
      } else {
        const config = join(home, 'nats-server.conf');
        const extra = instance.name === 'auth' ? authBlock(home) : instance.name === 'tls' ? tlsBlock(home) : '';
        writeFileSync(config, serverConfig(instance, home, extra), { mode: 0o600 });
        await ensurePortFree(instance.port, `nats ${instance.name}`);
        const record = ctx.track(startDaemon({
          name: `nats-${instance.name}`,
          executable: server,
          args: ['-c', config],
          log: join(home, 'nats-server.log'),
        }));
        processes.push(record);
        await waitUntil(
          async () => ((await fetch(`http://127.0.0.1:${instance.monitorPort}/healthz`)).ok && (await canConnect(instance.port)) ? true : undefined),
          { timeoutMs: 20_000, what: `nats ${instance.name} on 127.0.0.1:${instance.port}`, alive: () => isRunning(record), log: record.log },
        );
      }
      Object.assign(values, instanceValues(instance, home));
    }
    return { processes, values };
  },
};

function serverConfig(instance: Instance, home: string, extra: string): string {
  return `# Written by the smartmeter test rig.
server_name: rig-${instance.name}
listen: 127.0.0.1:${instance.port}
http: 127.0.0.1:${instance.monitorPort}
jetstream {
  store_dir: ${JSON.stringify(join(home, 'jetstream'))}
  max_memory_store: 256MB
  max_file_store: 4GB
}
${extra}`;
}

/** Credentials made once and kept, so a restart of the rig keeps working clients working. */
function authBlock(home: string): string {
  const userFile = join(home, 'user');
  const passwordFile = join(home, 'password');
  if (!existsSync(userFile)) writeFileSync(userFile, 'rig', { mode: 0o600 });
  if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const user = readFileSync(userFile, 'utf8');
  const password = readFileSync(passwordFile, 'utf8');
  return `authorization {\n  user: ${JSON.stringify(user)}\n  password: ${JSON.stringify(password)}\n}\n`;
}

/** A fresh CA, server and client certificate at every start of the TLS instance. */
function tlsBlock(home: string): string {
  const file = (name: string) => join(home, name);
  const key = (name: string) => run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', file(name)]);
  key('ca.key');
  run('openssl', ['req', '-x509', '-new', '-key', file('ca.key'), '-out', file('ca.pem'), '-days', '30', '-subj', '/CN=smartmeter rig CA']);
  const issue = (name: string, subject: string, extensions: string) => {
    key(`${name}.key`);
    run('openssl', ['req', '-new', '-key', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject]);
    writeFileSync(file(`${name}.ext`), extensions);
    run('openssl', ['x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-out', file(`${name}.pem`), '-days', '30', '-extfile', file(`${name}.ext`)]);
  };
  issue('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  issue('client', '/CN=smartmeter-rig-client', 'extendedKeyUsage=clientAuth\n');
  return `tls {
  cert_file: ${JSON.stringify(file('server.pem'))}
  key_file: ${JSON.stringify(file('server.key'))}
  ca_file: ${JSON.stringify(file('ca.pem'))}
  verify: true
  timeout: 2
}
`;
}

function instanceValues(instance: Instance, home: string): Record<string, string> {
  const monitor = `http://127.0.0.1:${instance.monitorPort}`;
  switch (instance.name) {
    case 'plain':
      return { NATS_URL: `nats://127.0.0.1:${instance.port}`, NATS_MONITOR_URL: monitor };
    case 'auth':
      return {
        NATS_AUTH_URL: `nats://127.0.0.1:${instance.port}`,
        NATS_AUTH_MONITOR_URL: monitor,
        NATS_AUTH_USER_FILE: join(home, 'user'),
        NATS_AUTH_PASSWORD_FILE: join(home, 'password'),
      };
    case 'tls':
      return {
        NATS_TLS_URL: `tls://127.0.0.1:${instance.port}`,
        NATS_TLS_MONITOR_URL: monitor,
        NATS_TLS_CA: join(home, 'ca.pem'),
        NATS_TLS_CERT: join(home, 'client.pem'),
        NATS_TLS_KEY: join(home, 'client.key'),
      };
  }
}
