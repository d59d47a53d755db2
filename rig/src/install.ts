/** Installing what the rig needs from the registries this machine reaches (Debian, Go proxy). */
import { RuntimeError } from './errors.ts';
import { run, which } from './process.ts';

let aptUpdated = false;

/** Installs Debian packages whose command is missing; needs root. */
export function ensureDebianPackages(packages: Record<string, string>, log: (line: string) => void): void {
  const missing = Object.entries(packages)
    .filter(([command]) => !which(command))
    .map(([, pkg]) => pkg);
  if (missing.length) installDebianPackages(missing, log);
}

/** apt-get install, once `apt-get update` ran in this process; needs root. */
export function installDebianPackages(missing: readonly string[], log: (line: string) => void): void {
  if (process.getuid?.() !== 0) {
    throw new RuntimeError(`missing ${missing.join(', ')}: run as root, or apt-get install ${missing.join(' ')}`);
  }
  log(`installing ${missing.join(', ')} (apt-get)`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    run('apt-get', ['update', '-qq'], { env });
    aptUpdated = true;
  }
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}
