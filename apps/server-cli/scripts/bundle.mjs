// Bundles the built server into one file, dist/ferry-server.mjs, which is what the `ferry-server`
// bin runs. Why here: a smaller heap. Loaded as ~60 ES modules the server sat at 63 MiB RSS idle
// and ran 11–53 full (mark-compact) GCs while receiving a 1 GiB upload; bundled it idles at
// 55–60 MiB and ran one, which took its CPU per GiB from 3.2–4.1 s to 2.5–2.7 s (docs/performance.md).
import { build } from "esbuild";
import { CLI_BUNDLE_OPTIONS } from "../../../scripts/cli-bundle-options.mjs";

await build({
  ...CLI_BUNDLE_OPTIONS,
  entryPoints: ["dist/bin.js"],
  outfile: "dist/ferry-server.mjs",
  // Loaded only by --tls auto, on first start: resolved from node_modules when that happens.
  external: ["@peculiar/x509", "reflect-metadata"],
});
