/**
 * Helm for the tests: a real `helm` binary built from source through the Go module proxy
 * (no release download can be reached). GOPATH and the build cache live in the rig's cache,
 * so only the first `up` compiles (about two and a half minutes on two cores).
 * Compose v2 is not built: `go install` refuses its module (its go.mod has exclude
 * directives), so the rig relies on Debian's docker-compose 1.29, which the docker service installs.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages } from '../install.js';
import { run } from '../process.js';
import { cacheDir, serviceDir, type ServiceState } from '../state.js';
import type { RigContext, RigService } from '../service.js';

export const HELM_VERSION = 'v3.22.0';

export const helm: RigService = {
  name: 'helm',
  describe: `helm ${HELM_VERSION}, built with go install through the Go module proxy`,

  async up(ctx: RigContext): Promise<ServiceState> {
    ensureDebianPackages({ go: 'golang-go' }, ctx.log);
    const go = cacheDir('go');
    const bin = join(go, 'bin');
    const binary = join(bin, 'helm');
    if (!existsSync(binary) || !run(binary, ['version', '--short']).startsWith(HELM_VERSION)) {
      ctx.log(`helm: go install helm.sh/helm/v3/cmd/helm@${HELM_VERSION} (a few minutes the first time)`);
      run('go', ['install', '-ldflags', `-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}`, `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`], {
        env: { GOPATH: join(go, 'path'), GOBIN: bin, GOCACHE: join(go, 'build-cache'), GOFLAGS: '-modcacherw' },
      });
    }
    // Helm's own state (plugins, repositories, caches) stays in the rig, not in ~/.config.
    const home = serviceDir('helm');
    for (const sub of ['cache', 'config', 'data']) mkdirSync(join(home, sub), { recursive: true });
    return {
      processes: [],
      values: {
        HELM: binary,
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_DATA_HOME: join(home, 'data'),
      },
    };
  },
};
