/** The combine step shared by `combine` and `up`: check the three words, then run the engine. */
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { COMPOSE_TEMPLATES_DIR } from '../paths.js';
import { CLUSTER_MODES, LOCATIONS, SECRET_MODES, combine, type CombineResult } from './engine.js';
import type { Modes } from './hierarchy.js';

/** What a command passes to combineStack: the three words, the targets and the property sources. */
export interface StackRequest {
  location?: string;
  clusterMode?: string;
  secretMode?: string;
  targets: string[];
  /** Directory of property files layered over the defaults. */
  properties?: string;
  /** `KEY=value` overrides, over every file and the environment. */
  set: string[];
  allowMissing?: boolean;
  /** No notice about the properties taken from the environment. */
  quiet?: boolean;
}

/** The combine part of `combine` and `up`: check the three words, then run the engine. */
export function combineStack(
  options: StackRequest,
  templatesDir = COMPOSE_TEMPLATES_DIR,
): { result: CombineResult; modes: Modes } {
  const modes = {
    location: required(options.location, 'location', LOCATIONS),
    clusterMode: required(options.clusterMode, 'cluster-mode', CLUSTER_MODES),
    secretMode: required(options.secretMode, 'secret-mode', SECRET_MODES),
  };
  const result = combine({
    templatesDir,
    propertiesDir: options.properties ? resolve(options.properties) : undefined,
    modes,
    targets: options.targets,
    env: process.env,
    sets: options.set,
    allowMissing: options.allowMissing === true,
    now: Math.floor(Date.now() / 1000),
    displayRoot: process.cwd(),
  });
  // The environment outranks the property files, and a shell may export a name for another
  // purpose (NATS_URI for inject): say which ones shaped this stack, by name only.
  if (result.fromEnvironment.length && options.quiet !== true) {
    process.stderr.write(`smartmeter: taken from the environment (over the property files): ${result.fromEnvironment.join(', ')}\n`);
  }
  return { result, modes };
}

function required(value: string | undefined, name: string, allowed: readonly string[]): string {
  if (value === undefined) throw new UsageError(`missing <${name}>: expected ${allowed.join(' or ')} (see smartmeter combine --help)`);
  if (!allowed.includes(value)) throw new UsageError(`<${name}> must be ${allowed.join(' or ')}, got "${value}"`);
  return value;
}
