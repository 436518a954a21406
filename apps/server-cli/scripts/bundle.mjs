// Bundles the built server into dist/ferry-server.mjs, which is what the `ferry-server` bin runs.
// Why here: a smaller heap. Loaded as ~60 ES modules the server sat at 63 MiB RSS idle and ran
// 11–53 full (mark-compact) GCs while receiving a 1 GiB upload; bundled it idles at 55–60 MiB and
// ran one, which took its CPU per GiB from 3.2–4.1 s to 2.5–2.7 s (docs/performance.md).
// Code splitting: cluster storage (the AWS SDK, node-postgres) is a chunk of its own, loaded only by
// a server started with --s3-*/--db; the code both use (server-core's errors above all, which
// must be one class for `instanceof`) is a shared chunk.
import { cpSync, rmSync, readdirSync } from "node:fs";
import { build } from "esbuild";
import { CLI_BUNDLE_OPTIONS } from "../../../scripts/cli-bundle-options.mjs";

for (const old of readdirSync("dist")) if (old.endsWith(".mjs")) rmSync(`dist/${old}`);

await build({
  ...CLI_BUNDLE_OPTIONS,
  entryPoints: { "ferry-server": "dist/bin.js" },
  outdir: "dist",
  splitting: true,
  chunkNames: "ferry-server-[name]-[hash]",
  outExtension: { ".js": ".mjs" },
  // Loaded only by --tls auto, on first start: resolved from node_modules when that happens.
  // pg's optional native binding is never installed.
  external: ["@peculiar/x509", "reflect-metadata", "pg-native"],
});

// The share page's style and scripts (tus-js-client's browser build among them), read at start by --http.
rmSync("dist/assets", { recursive: true, force: true });
cpSync("../../packages/share-web/dist/assets", "dist/assets", { recursive: true });
