// Smoke test of the rig's Docker engine and its offline images: a container of the base
// image, a two-service Compose project with ports published to the host, smartmeter's own
// image, and the properties directory that points combine at the rig's images.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { freePort, waitFor } from './helpers/net.js';
import { rigService } from './helpers/rig.js';

const rig = rigService('docker');

function docker(args: string[], cwd?: string) {
  const result = spawnSync(args[0] === 'compose' ? rig!.DOCKER_COMPOSE! : 'docker', args[0] === 'compose' ? args.slice(1) : args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, DOCKER_HOST: rig!.DOCKER_HOST },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.runIf(rig)('the rig Docker engine', () => {
  it('runs a container of the offline base image', () => {
    const run = docker(['run', '--rm', rig!.DOCKER_BASE_IMAGE!, 'sh', '-c', '. /etc/os-release && echo $VERSION_CODENAME']);
    // (stderr may warn that IPv4 forwarding is off: the rig keeps the host's firewall untouched.)
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe('bookworm');
  });

  it('brings a two-service Compose project up and down, its ports reachable from the host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartmeter-compose-'));
    const [natsPort, carbonPort] = [await freePort(), await freePort()];
    writeFileSync(
      join(dir, 'docker-compose.yml'),
      `version: "3.8"
services:
  nats:
    image: ${rig!.DOCKER_NATS_IMAGE}
    ports: ["127.0.0.1:${natsPort}:8222"]
  carbon:
    image: ${rig!.DOCKER_GRAPHITE_IMAGE}
    ports: ["127.0.0.1:${carbonPort}:2003"]
    depends_on: [nats]
`,
    );
    const project = `rigsmoke${Date.now()}`;
    try {
      expect(docker(['compose', '-p', project, 'up', '-d'], dir).status).toBe(0);
      const varz = await waitFor(async () => {
        const response = await fetch(`http://127.0.0.1:${natsPort}/varz`);
        return response.ok ? ((await response.json()) as { server_id: string }) : undefined;
      }, 30_000, 'nats /varz through the published port');
      expect(varz.server_id).toMatch(/^N/);
      // A metric through carbon's published port lands in a Whisper file inside its container.
      await waitFor(async () => {
        await new Promise<void>((resolve, reject) => {
          const socket = createConnection(carbonPort, '127.0.0.1', () => socket.end(`rig.smoke 42 ${Math.floor(Date.now() / 1000)}\n`, resolve));
          socket.on('error', reject);
        });
        const ls = docker(['compose', '-p', project, 'exec', '-T', 'carbon', 'ls', '/var/lib/graphite/whisper/rig/smoke.wsp'], dir);
        return ls.status === 0 ? true : undefined;
      }, 30_000, 'the metric in carbon');
    } finally {
      expect(docker(['compose', '-p', project, 'down', '-v'], dir).status).toBe(0);
    }
    expect(docker(['ps', '-a', '--filter', `label=com.docker.compose.project=${project}`, '-q']).stdout.trim()).toBe('');
  });

  it("builds smartmeter's own image, which runs the CLI", () => {
    const run = docker(['run', '--rm', rig!.DOCKER_SMARTMETER_IMAGE!, 'combine', 'local', 'single', 'secrets', 'inject', '--json']);
    expect(run.status).toBe(0);
    expect(Object.keys((JSON.parse(run.stdout) as { services: object }).services)).toEqual(['inject', 'nats']);
  });

  it("smartmeter's image runs as an unprivileged user given by number (Kubernetes' runAsNonRoot accepts only that)", () => {
    const image = rig!.DOCKER_SMARTMETER_IMAGE!;
    const inspect = docker(['image', 'inspect', '--format', '{{.Config.User}}', image]);
    expect(inspect.status, inspect.stderr).toBe(0);
    const user = inspect.stdout.trim();
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
    expect(Number(user.split(':')[1] ?? '1')).toBeGreaterThan(0);
    // The process really runs as that user, and node and the CLI work without root.
    const id = docker(['run', '--rm', '--entrypoint', 'id', image, '-u']);
    expect(id.stdout.trim()).toBe(user.split(':')[0]);
    const version = docker(['run', '--rm', image, '--version']);
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    // The code is not the user's to change.
    const write = docker(['run', '--rm', '--entrypoint', 'sh', image, '-c', 'touch /opt/smartmeter/dist/cli.cjs']);
    expect(write.status).not.toBe(0);
  });

  it('writes a properties directory that points combine at the offline images', () => {
    const run = runCli(['combine', '-p', rig!.DOCKER_PROPERTIES_DIR!, 'local', 'single', 'secrets', 'inject', 'cassandra_inject', 'metrics', '--json']);
    const services = (JSON.parse(run.stdout) as { services: Record<string, { image: string }> }).services;
    expect(services.nats!.image).toBe(rig!.DOCKER_NATS_IMAGE);
    expect(services.inject!.image).toBe(rig!.DOCKER_SMARTMETER_IMAGE);
    expect(services['cassandra-cluster-main']!.image).toBe(rig!.DOCKER_CASSANDRA_IMAGE);
    expect(services.graphite!.image).toBe(rig!.DOCKER_GRAPHITE_IMAGE);
    expect(services.prometheus!.image).toBe(rig!.DOCKER_PROMETHEUS_IMAGE);
    for (const name of Object.keys(services)) {
      if (!['grafana'].includes(name)) expect(docker(['image', 'inspect', services[name]!.image]).status).toBe(0);
    }
  });
});
