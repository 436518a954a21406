// Bundles the built CLI into one file, dist/ferry.mjs, which is what the `ferry` bin runs.
// Why: resolving and compiling ~60 ES modules (ours, zod's, commander's) was about 80 ms of the
// CLI's start-up; one pre-linked file starts in ~170 ms instead of ~250 ms (start-up target: 250).
import { build } from "esbuild";
import { CLI_BUNDLE_OPTIONS } from "../../../scripts/cli-bundle-options.mjs";

await build({ ...CLI_BUNDLE_OPTIONS, entryPoints: ["dist/bin.js"], outfile: "dist/ferry.mjs" });
