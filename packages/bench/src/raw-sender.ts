// Baseline sender: copies files to sockets with 1 MiB reads. `--concat` sends every file over one
// connection back to back (a lower bound for many small files: no per-file anything).
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import net from "node:net";
import { pipeline } from "node:stream/promises";

const args = process.argv.slice(2);
const concat = args[0] === "--concat";
const [portArg, ...files] = concat ? args.slice(1) : args;
const port = Number(portArg);
const BUFFER = 1024 * 1024;

function connect(): Promise<net.Socket> {
  const options: net.TcpNetConnectOpts & { highWaterMark: number } = { host: "127.0.0.1", port, highWaterMark: BUFFER };
  const socket = net.connect(options);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

if (concat) {
  const socket = await connect();
  // Small files: readFile each, 32 reads in flight, written in order as they complete.
  const WINDOW = 32;
  const reads = files.slice(0, WINDOW).map((f) => readFile(f));
  for (let i = 0; i < files.length; i++) {
    const bytes = await reads[i]!;
    if (i + WINDOW < files.length) reads.push(readFile(files[i + WINDOW]!));
    reads[i] = Promise.resolve(Buffer.alloc(0)); // let the GC have it
    if (!socket.write(bytes)) await new Promise((resolve) => socket.once("drain", resolve));
  }
  await new Promise<void>((resolve) => socket.end(resolve));
} else {
  await Promise.all(
    files.map(async (file) => pipeline(createReadStream(file, { highWaterMark: BUFFER }), await connect())),
  );
}
process.stdout.write(`${JSON.stringify({ maxRss: process.resourceUsage().maxRSS * 1024 })}\n`);
