// esbuild options both CLIs are bundled with (apps/*/scripts/bundle.mjs add entry and output).
// One file per CLI: the client starts ~80 ms sooner than from ~60 ES modules, and the server's
// smaller heap spares it a storm of full GCs (docs/performance.md).
/**
 * zod re-exports every one of its ~45 translations (`z.locales`, from its classic and core
 * indexes), and a bundle cannot drop them: 290 KB of the client's 840 KB bundle, compiled at every
 * start. Ferry uses none of them (zod's
 * messages come from its English locale, which zod configures from its own file, not this index),
 * so the index is replaced by an empty module, for a faster start (measured in docs/performance.md,
 * "CLI start-up").
 */
const dropZodTranslations = {
  name: "drop-zod-translations",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/]/.test(args.importer) ? { path: "zod-translations", namespace: "ferry-empty" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "ferry-empty" }, () => ({ contents: "export {};", loader: "js" }));
  },
};

export const CLI_BUNDLE_OPTIONS = {
  plugins: [dropZodTranslations],
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
