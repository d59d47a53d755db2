/**
 * The rig's nats-server: a current release built from source through the Go module proxy, for
 * the host's NATS instances (services/nats.ts), the tests that start a server of their own, and
 * the rig's NATS Docker image (services/docker.ts copies the binary into it).
 *
 * Why: Debian bookworm's nats-server is 2.9.10 (2022), and JetStream has changed since (pull
 * requests, consumer delivery); the tests should see the server users run today. No release
 * download can be reached, so it is compiled, as helm and telegraf are.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages } from './install.ts';
import { run } from './process.ts';
import { cacheDir } from './state.ts';
import type { RigContext } from './service.ts';

/** The nats-server release the rig runs (a tag of github.com/nats-io/nats-server/v2). */
export const NATS_SERVER_VERSION = 'v2.15.2';

/**
 * The path of the rig's nats-server binary, `<rig>/cache/go/bin/nats-server`, built on the first
 * call with `go install github.com/nats-io/nats-server/v2@NATS_SERVER_VERSION` (GOPATH and the
 * build cache in the rig's Go cache, the local toolchain only, stripped, CGO_ENABLED=0 so the
 * binary is static and runs in any image). A stamp file next to it records the version and build
 * settings: a change of either rebuilds; otherwise the existing binary is returned at once.
 *
 * Throws the RuntimeError of `run` (with the last lines of go's output) when go is missing and
 * cannot be installed, the module proxy refuses the version, or the local Go toolchain is older
 * than the module's go directive (GOTOOLCHAIN=local: no toolchain download).
 */
export function natsServerBinary(ctx: RigContext): string {
  const go = cacheDir('go');
  const bin = join(go, 'bin');
  const binary = join(bin, 'nats-server');
  const stamp = `${NATS_SERVER_VERSION} CGO_ENABLED=0 -s -w`;
  const stampFile = join(go, 'nats-server.build');
  if (existsSync(binary) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === stamp) return binary;
  ensureDebianPackages({ go: 'golang-go' }, ctx.log);
  ctx.log(`nats: go install github.com/nats-io/nats-server/v2@${NATS_SERVER_VERSION} (about a minute the first time)`);
  const started = Date.now();
  run('go', ['install', '-ldflags', '-s -w', `github.com/nats-io/nats-server/v2@${NATS_SERVER_VERSION}`], {
    env: {
      GOPATH: join(go, 'path'),
      GOBIN: bin,
      GOCACHE: join(go, 'build-cache'),
      GOFLAGS: '-modcacherw',
      GOTOOLCHAIN: 'local',
      CGO_ENABLED: '0',
    },
  });
  writeFileSync(stampFile, `${stamp}\n`);
  ctx.log(`nats: nats-server ${NATS_SERVER_VERSION} built in ${Math.round((Date.now() - started) / 1000)} s`);
  return binary;
}
