import type { Ora } from 'ora';

/**
 * Starts an ora spinner on stderr with `text`. ora is an ES module; the bundle loads it with
 * require() (scripts/bundle.mjs), which hands back its namespace as the default export, so its
 * function is one level further down there than under a plain import().
 */
export async function startSpinner(text: string): Promise<Ora> {
  const loaded = (await import('ora')) as { default: unknown };
  const ora = (typeof loaded.default === 'function' ? loaded.default : (loaded.default as { default: unknown }).default) as typeof import('ora').default;
  return ora({ text, stream: process.stderr }).start();
}
