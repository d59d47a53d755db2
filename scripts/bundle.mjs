// Bundles build/ (the tsc output) into one file, dist/cli.js.
// One module instead of dozens cuts the start-up of `smartmeter combine` by about a fifth
// (bench/combine.ts). Command modules stay lazily evaluated (esbuild wraps dynamic imports);
// a heavy dependency (a NATS or Cassandra client) must be imported with `await import()`
// inside its command so that other commands do not load it.
import { rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { build } from 'esbuild';

// `import … from 'node:util'` evaluates the builtin's whole ES namespace, which runs its lazy
// getters: node:util, node:process and node:child_process each load 30–40 more internal modules
// (streams, net, dgram, worker_threads, os) before the first line of ours runs. require() does
// not touch the getters, so each statically imported builtin becomes a CommonJS stand-in that
// requires it; child_process, which is not loaded at Node's start at all (commander and
// src/runtime/exec.ts import it for spawn), is required only when one of its functions is used.
const LAZY_BUILTINS = {
  child_process: ['_forkChild', 'ChildProcess', 'exec', 'execFile', 'execFileSync', 'execSync', 'fork', 'spawn', 'spawnSync'],
};
const BUILTIN = new RegExp(`^(node:)?(${builtinModules.map((name) => name.replace(/[/]/g, '\\/')).join('|')})$`);
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(build) {
    build.onResolve({ filter: BUILTIN }, (args) => (args.kind === 'import-statement' ? { path: args.path.replace(/^node:/, ''), namespace: 'builtin' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, ({ path }) => {
      const id = JSON.stringify(`node:${path}`);
      const lazy = LAZY_BUILTINS[path];
      const contents = lazy
        ? `let m; const load = () => (m ??= require(${id}));\nmodule.exports = Object.defineProperties({}, {${lazy.map((name) => `${name}: { enumerable: true, get: () => load().${name} }`).join(', ')}});`
        : `module.exports = require(${id});`;
      return { contents, loader: 'js' };
    });
  },
};

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: ['build/cli.js'],
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  splitting: true,
  // CommonJS dependencies call require(); give them one in the ESM bundle.
  banner: { js: "import { createRequire as __smartmeterRequire } from 'node:module'; const require = __smartmeterRequire(import.meta.url);" },
  // Without splitting, esbuild would inline these dynamically imported clients into the one file
  // and every command would parse them (2 MB); kept external, they load only when a command asks.
  external: ['nats', 'cassandra-driver', 'ora', 'hdr-histogram-js'],
  plugins: [builtinsByRequire],
  logLevel: 'warning',
});
