/**
 * The environment every Go build of the rig runs with, in one place.
 */
import { join } from 'node:path';
import { cacheDir } from './state.ts';

/**
 * Variables for `go` commands of the rig: GOPATH (module cache) and GOCACHE (build cache) under
 * `<rig>/cache/go/`, so only the first build of a program downloads and compiles much;
 * GOFLAGS=-modcacherw, so the module cache can be deleted without a chmod first;
 * GOTOOLCHAIN=local, so go never downloads a toolchain (a module that asks for a newer Go fails
 * instead); CGO_ENABLED=0, so the programs are static and run in any image. Merged over
 * process.env by `run`. Creates `<rig>/cache/go/` when missing; throws nothing else.
 */
export function goEnv(): Record<string, string> {
  const go = cacheDir('go');
  return { GOPATH: join(go, 'path'), GOCACHE: join(go, 'build-cache'), GOFLAGS: '-modcacherw', GOTOOLCHAIN: 'local', CGO_ENABLED: '0' };
}
