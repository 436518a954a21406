// Ferry client side of a workload, as its own process: uploads `files` over `connections`
// connections with client-core's uploadFiles, keeping up to WINDOW uploads queued per connection (pipelining),
// and prints bytes, file count and peak RSS as JSON.
import { statSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { FerryClient, uploadFiles } from "@ferry/client-core";

const [portArg, connectionsArg, ...paths] = process.argv.slice(2);
// A directory argument stands for every file in it (10,000 paths would not fit on a command line).
const files = (
  await Promise.all(
    paths.map(async (p) => ((await stat(p)).isDirectory() ? (await readdir(p)).sort().map((f) => path.join(p, f)) : [p])),
  )
).flat();
const port = Number(portArg);
const connections = Math.max(1, Math.min(Number(connectionsArg), files.length));
// Enough queued uploads that the wire never waits for a confirmation; bounded so a folder of
// 10,000 files does not hold 10,000 open descriptors.
const WINDOW = 64;

async function uploadShare(share: string[]): Promise<number> {
  const client = await FerryClient.connect({ port, agent: "ferry-bench", digest: process.env.FERRY_BENCH_DIGEST === "blake3" ? "blake3" : "sha256" });
  let bytes = 0;
  // As `ferry send` does: uploadFiles pipelines, and sends files of ≤ 64 KiB in PUT_BATCH requests.
  const files = share.map((localPath) => ({ localPath, name: path.basename(localPath), size: statSync(localPath).size }));
  // FERRY_BENCH_BATCH=0 sends every file on its own, for comparing with and without PUT_BATCH.
  const batch = process.env.FERRY_BENCH_BATCH !== "0";
  const failures = await uploadFiles(client, files, { window: WINDOW, batch, onStored: (_, stored) => void (bytes += stored.size) });
  if (failures > 0) throw new Error(`${failures} uploads failed`);
  await client.close();
  return bytes;
}

const shares: string[][] = Array.from({ length: connections }, () => []);
files.forEach((file, i) => shares[i % connections]!.push(file));
const totals = await Promise.all(shares.map(uploadShare));
process.stdout.write(
  `${JSON.stringify({ files: files.length, bytes: totals.reduce((a, b) => a + b, 0), maxRss: process.resourceUsage().maxRSS * 1024, cpuMs: cpuOfThisProcess() })}\n`,
);

/** User + system CPU of this process so far, in ms. */
function cpuOfThisProcess(): number {
  const usage = process.resourceUsage();
  return (usage.userCPUTime + usage.systemCPUTime) / 1000;
}
