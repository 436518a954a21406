// Baseline receiver: a minimal Node TCP server that copies each connection's bytes to a file.
// No framing, no hashing, no fsync; 1 MiB buffers (the best of 64 KiB…4 MiB tried by hand).
import { createWriteStream } from "node:fs";
import net from "node:net";
import path from "node:path";
import { pipeline } from "node:stream/promises";

const [dir, expectedArg] = process.argv.slice(2);
const expected = Number(expectedArg ?? 1);
const BUFFER = 1024 * 1024;
let done = 0;
let index = 0;

const server = net.createServer({ highWaterMark: BUFFER }, (socket) => {
  const target = path.join(dir!, `recv-${index++}`);
  void pipeline(socket, createWriteStream(target, { highWaterMark: BUFFER })).then(() => {
    if (++done === expected) {
      process.stdout.write(`done ${JSON.stringify({ maxRss: process.resourceUsage().maxRSS * 1024, cpuMs: (process.resourceUsage().userCPUTime + process.resourceUsage().systemCPUTime) / 1000 })}\n`);
      server.close();
    }
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`port ${(server.address() as net.AddressInfo).port}\n`);
});
