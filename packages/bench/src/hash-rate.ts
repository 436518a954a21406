import { createHash } from "node:crypto";
import { MiB, summarize } from "./stats.js";

/**
 * CPU seconds Node's SHA-256 takes per GiB on one core here, in 1 MiB updates (median of three
 * passes over 256 MiB). Measured in the bench's own run, so the bound it feeds (report.ts, W1
 * with SHA-256 at both ends) is of the same machine, in the same state, as the rows beside it.
 */
export function sha256SecondsPerGiB(): number {
  const block = Buffer.alloc(MiB, 0x5a);
  const passes = [0, 1, 2].map(() => {
    const hash = createHash("sha256");
    const before = process.cpuUsage();
    for (let i = 0; i < 256; i++) hash.update(block);
    hash.digest();
    const used = process.cpuUsage(before);
    return ((used.user + used.system) / 1e6) * 4;
  });
  return summarize(passes).median;
}
