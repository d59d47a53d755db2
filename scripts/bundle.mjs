// Bundles build/ (the tsc output) into one minified CommonJS file, dist/cli.cjs, with its source map.
// One file, not code-split chunks: what cost most at start-up was resolving and linking the imports
// of twenty chunks. CommonJS, not an ES module: bin/smartmeter compiles it with node:vm and keeps V8's
// code cache made *after* the run, which holds every function the command ran; Node's own compile
// cache for ES modules is made at compile time and holds little more than the top level. Together
// they made `smartmeter combine` about a fifth faster (bench/combine.ts, docs/performance.md).
// Our own lazily imported modules stay lazily evaluated (esbuild wraps each dynamic import in an
// initializer); a heavy dependency (a NATS or Cassandra client) must be imported with `await import()`
// inside its command, and is kept out of the bundle, so that other commands do not load it.
// Minified names are mapped back in stack traces with --debug (bin/smartmeter turns source maps on).
import { rmSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { build } from 'esbuild';

// `import … from 'node:util'` evaluates the builtin's whole ES namespace, which runs its lazy
// getters: node:util, node:process and node:child_process each load 30–40 more internal modules
// (streams, net, dgram, worker_threads, os) before the first line of ours runs. So each statically
// imported builtin becomes a small ES module that require()s it and exports each of its names as
// a pure expression: esbuild drops the names nothing imports, and no CommonJS interop (__toESM,
// which defines a getter per property, ~15 ms for util, fs and process) stands in between.
// child_process, which is not loaded at Node's start at all (commander and src/runtime/exec.ts
// import it for spawn), is required only when one of its functions is called.
const LAZY_BUILTINS = new Set(['child_process']);
const BUILTIN = new RegExp(`^(node:)?(${builtinModules.map((name) => name.replace(/[/]/g, '\\/')).join('|')})$`);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const RESERVED = new Set(['default', 'delete', 'function', 'class', 'import', 'export', 'new', 'in', 'do', 'if', 'for', 'with']);
const require = createRequire(import.meta.url);

/** The ES module text that stands in for builtin `name`: a default export and one export per name. */
function builtinShim(name) {
  const id = JSON.stringify(`node:${name}`);
  const names = Object.keys(require(`node:${name}`)).filter((key) => IDENTIFIER.test(key) && !RESERVED.has(key));
  if (LAZY_BUILTINS.has(name)) {
    const getters = names.map((key) => `${key}: { enumerable: true, get: () => load().${key} }`).join(', ');
    return [
      `let m; const load = () => (m ??= require(${id}));`,
      `export default /* @__PURE__ */ Object.defineProperties({}, { ${getters} });`,
      ...names.map((key) => `export const ${key} = (...args) => load().${key}(...args);`),
    ].join('\n');
  }
  return [
    `const m = require(${id});`,
    'export default m;',
    ...names.map((key) => `export const ${key} = /* @__PURE__ */ (() => m.${key})();`),
  ].join('\n');
}

const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(build) {
    build.onResolve({ filter: BUILTIN }, (args) => (args.kind === 'import-statement' ? { path: args.path.replace(/^node:/, ''), namespace: 'builtin' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, ({ path }) => ({ contents: builtinShim(path), loader: 'js' }));
  },
};

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: ['build/cli.js'],
  outfile: 'dist/cli.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node22',
  // The sources use import.meta.url (paths.ts: where templates/ is); in CommonJS it is this file's URL.
  define: { 'import.meta.url': '__smartmeterUrl' },
  banner: { js: "const __smartmeterUrl = require('node:url').pathToFileURL(__filename).href;" },
  // Inlined, these dynamically imported clients would be parsed by every command (2 MB); kept
  // external, they load only when a command asks.
  external: ['nats', 'cassandra-driver', 'ora', 'hdr-histogram-js'],
  plugins: [builtinsByRequire],
  // import() of those clients becomes require(): a node:vm script (bin/smartmeter) may not import()
  // without an experimental flag. ora is an ES module: require() loads it from Node 22.12 (engines).
  supported: { 'dynamic-import': false },
  logLevel: 'warning',
  minify: true,
  sourcemap: 'linked',
  sourcesContent: false, // stack traces need the lines, not the sources
});
