// Baseline receiver: a minimal Node TCP server that copies each connection's bytes to a file.
// No framing, no fsync; 1 MiB buffers (the best of 64 KiB…4 MiB tried by hand). With `sha256` as
// its third argument it also hashes every byte it receives, as any verifying receiver must
// (raw-pipe-sha256: a minimal SHA-256-verified transfer in Node, docs/performance.md).
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import net from "node:net";
import path from "node:path";
import { pipeline } from "node:stream/promises";

const [dir, expectedArg, digestArg] = process.argv.slice(2);
const expected = Number(expectedArg ?? 1);
const hashing = digestArg === "sha256";
const BUFFER = 1024 * 1024;
const digests: string[] = [];
let done = 0;
let index = 0;

const server = net.createServer({ highWaterMark: BUFFER }, (socket) => {
  const target = path.join(dir!, `recv-${index++}`);
  const hash = hashing ? createHash("sha256") : null;
  // A second 'data' listener sees every chunk the pipeline writes, without a stream in between.
  if (hash) socket.on("data", (chunk: Buffer) => hash.update(chunk));
  void pipeline(socket, createWriteStream(target, { highWaterMark: BUFFER })).then(() => {
    if (hash) digests.push(hash.digest("hex"));
    if (++done === expected) {
      const usage = process.resourceUsage();
      process.stdout.write(`done ${JSON.stringify({ maxRss: usage.maxRSS * 1024, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, digests })}\n`);
      server.close();
    }
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`port ${(server.address() as net.AddressInfo).port}\n`);
});
