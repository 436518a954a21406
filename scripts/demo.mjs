#!/usr/bin/env node
// The Quick start demo: a real ferry-server on a free port, the real ferry client sending a few
// sample files (text, binary, a name clash, a raw lab-style upload), then what was stored.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const SERVER = path.join(root, "apps/server-cli/dist/ferry-server.mjs");
const CLIENT = path.join(root, "apps/client-cli/dist/ferry.mjs");

const work = await mkdtemp(path.join(tmpdir(), "ferry-demo-"));
const samples = path.join(work, "samples");
const storage = path.join(work, "storage");
const { mkdir } = await import("node:fs/promises");
await mkdir(samples);

const files = {
  "hello.txt": Buffer.from("Hello from Ferry!\nLine two, with ünïcödé.\n"),
  "all-bytes.bin": Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  "random-8MiB.bin": randomBytes(8 * 1024 * 1024),
};
for (const [name, bytes] of Object.entries(files)) await writeFile(path.join(samples, name), bytes);
// Another file that is also called hello.txt, with other words in it.
const otherHello = Buffer.from("A different hello.\n");
await mkdir(path.join(samples, "other"));
await writeFile(path.join(samples, "other", "hello.txt"), otherHello);
files["other/hello.txt"] = otherHello;
const sha = (b) => createHash("sha256").update(b).digest("hex");

console.log(`▶ starting ferry-server (storage: ${storage})`);
const server = spawn(process.execPath, [SERVER, "--port", "0", "--dir", storage], { stdio: ["ignore", "pipe", "inherit"] });
let serverLog = "";
const port = await new Promise((resolve, reject) => {
  server.stdout.on("data", (chunk) => {
    serverLog += chunk;
    process.stdout.write(`  [server] ${chunk.toString().trimEnd().split("\n").join("\n  [server] ")}\n`);
    const match = /listening on [^:]+:(\d+)/.exec(serverLog);
    if (match) resolve(Number(match[1]));
  });
  server.on("exit", (code) => reject(new Error(`server exited early with ${code}`)));
});

function ferry(args) {
  console.log(`\n▶ ferry ${args.join(" ")}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLIENT, "-p", String(port), ...args], { stdio: "inherit" });
    child.on("exit", resolve);
  });
}

const sample = (name) => path.join(samples, name);
let code = await ferry(["send", sample("hello.txt"), sample("all-bytes.bin"), sample("random-8MiB.bin")]);
code ||= await ferry(["send", sample("hello.txt")]); // the same file again: "unchanged", no copy
code ||= await ferry(["send", sample("other/hello.txt")]); // other bytes, same name: stored as "hello (1).txt"
code ||= await ferry(["send", "--raw", sample("hello.txt")]); // the lab's format: output0.txt
code ||= await ferry(["ls"]); // size, time, the SHA-256 recorded at upload
const fetched = path.join(work, "fetched");
code ||= await ferry(["get", "random-8MiB.bin", "-o", fetched]); // verified before it gets its name

await new Promise((r) => setTimeout(r, 300));
server.kill("SIGTERM");
await new Promise((r) => server.on("exit", r));

console.log(`\n▶ stored in ${storage}:`);
const byHash = new Map(Object.entries(files).map(([name, bytes]) => [sha(bytes), name]));
let allGood = code === 0;
for (const name of (await readdir(storage)).filter((n) => !n.startsWith(".ferry-")).sort()) {
  const bytes = await readFile(path.join(storage, name));
  const source = byHash.get(sha(bytes));
  if (!source) allGood = false;
  const size = (await stat(path.join(storage, name))).size;
  console.log(`  ${name.padEnd(18)} ${String(size).padStart(9)} B  sha256 ${sha(bytes).slice(0, 16)}…  ${source ? `identical to ${source} ✓` : "NO MATCH ✗"}`);
}
const back = await readFile(path.join(fetched, "random-8MiB.bin")).catch(() => Buffer.alloc(0));
const backOk = sha(back) === sha(files["random-8MiB.bin"]);
if (!backOk) allGood = false;
console.log(`\n▶ downloaded random-8MiB.bin: ${backOk ? "identical to the original ✓" : "DIFFERENT ✗"}`);
await rm(work, { recursive: true, force: true });
console.log(allGood ? "\n✓ demo finished: every file arrived byte-identical" : "\n✗ demo found a problem");
process.exit(allGood ? 0 : 1);
