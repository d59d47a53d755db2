/**
 * Telegraf for the tests: a real binary built through the Go module proxy with only the plugins
 * the stack's configurations use (Telegraf's "custom" build tags), into the rig's Go cache, so
 * only the first `up` compiles (about four minutes on two cores).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages } from '../install.ts';
import { run } from '../process.ts';
import { cacheDir, type ServiceState } from '../state.ts';
import type { RigContext, RigService } from '../service.ts';

export const TELEGRAF_VERSION = 'v1.37.2';

/** The plugins of templates/config/telegraf/*.conf, and the parsers and serializers they need. */
export const TELEGRAF_PLUGINS = [
  'inputs.docker', 'inputs.nats', 'inputs.nats_consumer', 'inputs.prometheus',
  'outputs.graphite', 'outputs.prometheus_client', 'outputs.file',
  'parsers.json', 'parsers.prometheus', 'serializers.graphite', 'serializers.influx', 'serializers.prometheus',
];

export const telegraf: RigService = {
  name: 'telegraf',
  describe: `telegraf ${TELEGRAF_VERSION} with the stack's plugins, built with go install through the Go module proxy`,

  async up(ctx: RigContext): Promise<ServiceState> {
    ensureDebianPackages({ go: 'golang-go' }, ctx.log);
    const go = cacheDir('go');
    const bin = join(go, 'bin');
    const binary = join(bin, 'telegraf');
    const stamp = `${TELEGRAF_VERSION} ${TELEGRAF_PLUGINS.join(',')}`;
    const stampFile = join(go, 'telegraf.build');
    const built = existsSync(binary) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === stamp;
    if (!built) {
      ctx.log(`telegraf: go install github.com/influxdata/telegraf/cmd/telegraf@${TELEGRAF_VERSION} (a few minutes the first time)`);
      run('go', ['install', '-tags', ['custom', ...TELEGRAF_PLUGINS].join(','), '-ldflags', '-s -w', `github.com/influxdata/telegraf/cmd/telegraf@${TELEGRAF_VERSION}`], {
        env: { GOPATH: join(go, 'path'), GOBIN: bin, GOCACHE: join(go, 'build-cache'), GOFLAGS: '-modcacherw' },
      });
      writeFileSync(stampFile, `${stamp}\n`);
    }
    return { processes: [], values: { TELEGRAF: binary } };
  },
};
