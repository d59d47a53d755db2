/**
 * The rig's own failure (a download, a build, a service that does not come up): its message is one
 * line for stderr, and `rig` exits 1. Kept apart from the product's errors so that the rig imports
 * nothing from src/.
 */
export class RuntimeError extends Error {
  override name = 'RuntimeError';
}

/** The exit code for `error`: 1 for every failure (usage errors are commander's, exit 2). */
export function exitCodeOf(_error: unknown): number {
  return 1;
}
