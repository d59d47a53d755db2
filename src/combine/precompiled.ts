/**
 * Handlebars templates precompiled from the shipped fragments, keyed by the SHA-256 of their
 * source. This empty version is what the compiler sees; `npm run build` replaces
 * build/combine/precompiled.js with the real table, which the bundle in dist/ includes (scripts/precompile-templates.mjs).
 */
export const PRECOMPILED: Record<string, string> = {};
