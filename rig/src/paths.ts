import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository's root (this file is rig/src/paths.ts). The rig runs from a checkout, by Node's
 * type stripping, never from the package: nothing here is built into dist/.
 */
export const REPO_ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** The stack's configuration files (Graphite's schemas, …) as the product ships them. */
export const CONFIG_TEMPLATES_DIR = join(REPO_ROOT, 'templates', 'config');
