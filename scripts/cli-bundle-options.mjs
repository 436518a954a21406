// esbuild options both CLIs are bundled with (apps/*/scripts/bundle.mjs add entry and output).
// One file per CLI: the client starts ~80 ms sooner than from ~60 ES modules, and the server's
// smaller heap spares it a storm of full GCs (docs/performance.md).
export const CLI_BUNDLE_OPTIONS = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  // Less text to compile: ~15 ms less client start-up (7-run medians 204–210 vs 221–223 ms to
  // first byte). Names are kept, so a stack trace still says which function failed.
  minifyWhitespace: true,
  minifySyntax: true,
  // commander is CommonJS; in an ES module bundle its require() of Node built-ins needs this.
  banner: { js: "import { createRequire as __ferryRequire } from 'node:module'; const require = __ferryRequire(import.meta.url);" },
};
