import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The installed package's root (this file is dist/paths.js once built). */
export const PACKAGE_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** The compose templates shipped with smartmeter. */
export const COMPOSE_TEMPLATES_DIR = join(PACKAGE_ROOT, 'templates', 'compose');

/** Configuration files of the stack (Grafana provisioning, …), written out by `combine --config-dir`. */
export const CONFIG_TEMPLATES_DIR = join(PACKAGE_ROOT, 'templates', 'config');
