/**
 * The rig's Docker Compose: the current Compose (the Go rewrite, github.com/docker/compose/v5)
 * built from source through the Go module proxy, installed as the docker CLI plugin of a
 * DOCKER_CONFIG directory of the rig's own (the host's ~/.docker is left alone).
 *
 * Why: Debian bookworm ships docker-compose 1.29 (v1, end of life since 2023); users run the Go
 * Compose. `go install` refuses the module (its go.mod has exclude directives), so the module is
 * downloaded, copied out of the read-only module cache and built with `go build ./cmd` inside it.
 * v5.6.0 is the newest release whose go directive (1.26.8) the machine's Go toolchain meets; 5.7
 * asks for 1.26.10.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goEnv } from './go-env.ts';
import { ensureDebianPackages } from './install.ts';
import { run } from './process.ts';
import { cacheDir } from './state.ts';
import type { RigContext } from './service.ts';

/** The Compose release the rig builds (a tag of github.com/docker/compose/v5). */
export const COMPOSE_VERSION = 'v5.6.0';
const MODULE = 'github.com/docker/compose/v5';

/**
 * The path of the rig's Compose binary, `<rig>/cache/go/bin/docker-compose`, built on the first
 * call (about 1.5 minutes from a warm module cache, CGO_ENABLED=0, the version stamped into
 * `docker compose version`). A stamp file records the version: a change rebuilds.
 *
 * Throws the RuntimeError of `run` (with the last lines of go's output) when the module proxy
 * refuses the version or the local toolchain is older than the module's go directive.
 */
export function composeBinary(ctx: RigContext): string {
  const go = cacheDir('go');
  const binary = join(go, 'bin', 'docker-compose');
  const stamp = `${COMPOSE_VERSION} CGO_ENABLED=0 -s -w`;
  const stampFile = join(go, 'docker-compose.build');
  if (existsSync(binary) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === stamp) return binary;
  ensureDebianPackages({ go: 'golang-go' }, ctx.log);
  const env = goEnv();
  ctx.log(`docker: building Compose ${COMPOSE_VERSION} from ${MODULE} (about 1.5 minutes the first time)`);
  const started = Date.now();
  const info = JSON.parse(run('go', ['mod', 'download', '-json', `${MODULE}@${COMPOSE_VERSION}`], { env })) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download ${MODULE}@${COMPOSE_VERSION}: ${info.Error ?? 'no directory'}`);
  // The module cache is read-only and `go build` writes nothing there, but a copy keeps the
  // build's own files (go.sum updates) out of it.
  const source = join(go, 'compose-src');
  rmSync(source, { recursive: true, force: true });
  cpSync(info.Dir, source, { recursive: true });
  mkdirSync(join(go, 'bin'), { recursive: true });
  run('go', ['build', '-trimpath', '-ldflags', `-s -w -X ${MODULE}/internal.Version=${COMPOSE_VERSION}`, '-o', binary, './cmd'], { env, cwd: source });
  rmSync(source, { recursive: true, force: true });
  writeFileSync(stampFile, `${stamp}\n`);
  ctx.log(`docker: Compose ${COMPOSE_VERSION} built in ${Math.round((Date.now() - started) / 1000)} s`);
  return binary;
}

/**
 * A DOCKER_CONFIG directory, `<dir>/config`, whose `cli-plugins/docker-compose` is `binary`:
 * `docker compose` then runs the rig's Compose for whoever sets DOCKER_CONFIG to it.
 */
export function composePluginConfig(dir: string, binary: string): string {
  const config = join(dir, 'config');
  const plugin = join(config, 'cli-plugins', 'docker-compose');
  mkdirSync(join(config, 'cli-plugins'), { recursive: true });
  rmSync(plugin, { force: true });
  symlinkSync(binary, plugin);
  return config;
}
