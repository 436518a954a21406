/**
 * `pnpm --filter @ferry/bench run floods`: the resource figures of docs/security.md, measured on the
 * real ferry-server binary. Not a test (they depend on the machine); a reproducible measurement.
 *
 * 1. Idle slots: 64 connections that finish the handshake and go silent (2 addresses × 32) on a
 *    server with --max-clients 64; once they are past the 2 s slot grace, how long a new client
 *    takes to connect and store a file (5 tries, each against a freshly filled server).
 * 2. Memory per idle connection: RSS of the server before and after 2,000 silent, authenticated
 *    connections.
 * 3. Batch flood: 60 connections each send a PUT_BATCH of 128 × 64 KiB and every byte but the last;
 *    server RSS before, with them all held, and each second after they close (up to 30 s).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { FerryClient } from "@ferry/client-core";
import { encodeControl, encodeData, encodePreamble, PROTOCOL_VERSION, type Message } from "@ferry/protocol";
import { SERVER_BIN } from "./tools.js";
import { start, waitForOutput, type Running } from "./processes.js";

const MiB = 1024 * 1024;

async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

async function serve(dir: string, flags: string[]): Promise<{ server: Running; port: number }> {
  // One process: its RSS is the server's (the figures of docs/security.md are per process).
  const server = start(process.execPath, [SERVER_BIN, "--port", "0", "--workers", "1", "--dir", dir, "--no-fsync", "--log", "json", ...flags]);
  const port = Number((await waitForOutput(server, /"port":(\d+)/))[1]);
  return { server, port };
}

async function stop(server: Running): Promise<void> {
  server.child.kill("SIGTERM");
  await server.exited;
}

function send(socket: net.Socket, message: Message): void {
  for (const part of encodeControl(message)) socket.write(part);
}

/** A connection that completes the handshake and then says nothing. */
async function silent(port: number, localAddress: string): Promise<net.Socket> {
  const socket = net.connect({ host: "127.0.0.1", port, localAddress });
  socket.on("error", () => undefined);
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(encodePreamble());
  send(socket, { type: "hello", version: PROTOCOL_VERSION, agent: "floods" });
  await new Promise((resolve) => socket.once("data", resolve)); // WELCOME
  return socket;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function idleSlots(dir: string): Promise<number[]> {
  const times: number[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const { server, port } = await serve(path.join(dir, `slots-${attempt}`), ["--max-clients", "64"]);
    const held: net.Socket[] = [];
    for (let i = 0; i < 64; i++) held.push(await silent(port, i < 32 ? "127.0.0.2" : "127.0.0.3"));
    await sleep(2_500); // past the default slot grace
    const t0 = performance.now();
    const client = await FerryClient.connect({ port });
    const body = Buffer.from("served");
    await client.uploadStream([body], { name: "new.txt", size: body.length });
    times.push(performance.now() - t0);
    await client.close();
    for (const socket of held) socket.destroy();
    await stop(server);
  }
  return times;
}

async function idleMemory(dir: string, count: number): Promise<{ before: number; after: number }> {
  const { server, port } = await serve(path.join(dir, "idle"), []);
  await sleep(500);
  const before = await rss(server.child.pid!);
  const held: net.Socket[] = [];
  // 25 per address, under the per-address cap of 32.
  for (let i = 0; i < count; i++) held.push(await silent(port, `127.1.${Math.floor(i / 25)}.${(i % 25) + 1}`));
  await sleep(500);
  const after = await rss(server.child.pid!);
  for (const socket of held) socket.destroy();
  await stop(server);
  return { before, after };
}

interface FloodRound {
  before: number;
  held: number;
  after: { s: number; rss: number }[];
}

/** Two floods on one server: the first meets a cold process, the second one that has seen a flood. */
async function batchFloods(dir: string): Promise<FloodRound[]> {
  const { server, port } = await serve(path.join(dir, "batches"), ["--max-clients-per-ip", "64"]);
  await sleep(500);
  const rounds = [await batchFlood(port, server.child.pid!), await batchFlood(port, server.child.pid!)];
  await stop(server);
  return rounds;
}

async function batchFlood(port: number, pid: number): Promise<FloodRound> {
  const before = await rss(pid);
  const file = Buffer.alloc(64 * 1024, 7);
  const digest = createHash("sha256").update(file).digest("hex");
  const sockets: net.Socket[] = [];
  const sent: Promise<void>[] = [];
  for (let c = 0; c < 60; c++) {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.on("error", () => undefined);
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(encodePreamble());
    send(socket, { type: "hello", version: PROTOCOL_VERSION, agent: "floods" });
    send(socket, { type: "put_batch", id: 1, files: Array.from({ length: 128 }, (_, i) => ({ name: `c${c}-${i}.bin`, size: file.length, sha256: digest })) });
    const all = Buffer.alloc(128 * file.length - 1, 7);
    for (let at = 0; at < all.length; at += MiB) for (const part of encodeData(all.subarray(at, at + MiB))) socket.write(part);
    sent.push(new Promise((resolve) => (socket.writableLength === 0 ? resolve() : socket.once("drain", () => resolve()))));
    sockets.push(socket);
  }
  await Promise.all(sent);
  await sleep(2_000); // let the server take every byte in
  const held = await rss(pid);
  for (const socket of sockets) socket.destroy();
  const after: { s: number; rss: number }[] = [];
  for (let s = 1; s <= 30; s++) {
    await sleep(1_000);
    after.push({ s, rss: await rss(pid) });
  }
  return { before, held, after };
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

const dir = await mkdtemp(path.join(tmpdir(), "ferry-floods-"));
try {
  const times = await idleSlots(dir);
  console.log(`idle slots: 64 silent connections held (2 addresses × 32, --max-clients 64); a new client connected and stored a file in ${times.map((t) => `${t.toFixed(0)} ms`).join(", ")}`);
  const count = 2_000;
  const idle = await idleMemory(dir, count);
  console.log(`idle memory: ${count} silent authenticated connections: RSS ${mib(idle.before)} → ${mib(idle.after)}, ${((idle.after - idle.before) / count / 1024).toFixed(1)} KiB each`);
  for (const [at, flood] of (await batchFloods(dir)).entries()) {
    const back = flood.after.find((a) => a.rss - flood.before <= 20 * MiB);
    console.log(
      `batch flood ${at + 1} (${at === 0 ? "cold server" : "same server, after flood 1"}): 60 × (128 × 64 KiB − 1 byte) held: RSS ${mib(flood.before)} → ${mib(flood.held)} (+${mib(flood.held - flood.before)}); after close: ` +
        flood.after.filter((a) => [1, 5, 10, 20, 30].includes(a.s)).map((a) => `${a.s} s ${mib(a.rss)}`).join(", ") +
        (back ? `; within 20 MiB of before after ${back.s} s` : "; not back within 20 MiB in 30 s"),
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
