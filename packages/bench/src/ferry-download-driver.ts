// Ferry download side of W1, as its own process: downloads `name` into `dir` with client-core
// (verified, fsynced, renamed into place) and prints bytes and peak RSS as JSON.
import { FerryClient } from "@ferry/client-core";

const [portArg, name, dir] = process.argv.slice(2);
const client = await FerryClient.connect({ port: Number(portArg), agent: "ferry-bench", digest: process.env.FERRY_BENCH_DIGEST === "blake3" ? "blake3" : "sha256" });
const result = await client.download(name!, { dir: dir!, resume: false });
await client.close();
process.stdout.write(`${JSON.stringify({ files: 1, bytes: result.size, maxRss: process.resourceUsage().maxRSS * 1024, cpuMs: cpuOfThisProcess() })}\n`);

/** User + system CPU of this process so far, in ms. */
function cpuOfThisProcess(): number {
  const usage = process.resourceUsage();
  return (usage.userCPUTime + usage.systemCPUTime) / 1000;
}
