/**
 * Fuzz: the protocol's own byte vectors (@ferry/protocol/testing), mutated, and plausible messages,
 * sent against a live server, many connections at once. Whatever arrives, the server must answer or
 * close, write nothing outside its directory, leave no temp file or descriptor behind, and then
 * serve a normal upload. The seed is printed on failure so a run can be replayed (FERRY_FUZZ_SEED=n).
 * The suite runs FERRY_FUZZ_ROUNDS rounds of 16 sessions (default 24): a count, so a loaded machine
 * runs the same sessions, only slower. FERRY_FUZZ_SECONDS=n instead plays rounds until n seconds
 * have passed (.ci/run's dedicated fuzz step, outside the suite; the clock bounds the work, it is
 * never an expectation).
 */
import { readdirSync } from "node:fs";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { FerryClient } from "@ferry/client-core";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { encodeControl, encodeData, encodePreamble, PROTOCOL_VERSION, type Message } from "@ferry/protocol";
import { CONTROL_VECTORS, DATA_VECTORS } from "@ferry/protocol/testing";
import { listDir, sha256, startTestServer, tempDir, waitFor } from "@ferry/server-core/testing";

/** mulberry32: a tiny seeded PRNG, so a failing run can be replayed exactly. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = ReturnType<typeof prng>;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (random: Random, max: number) => Math.floor(random() * max);

function randomBytes(random: Random, length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => int(random, 256)));
}

/** A plausible message, sometimes valid, sometimes not quite. */
function message(random: Random): Message {
  const id = pick(random, [1, 2, 0, 0xffffffff]);
  const name = pick(random, ["a.txt", "dir/b.bin", "../x", "", "CON", "é", "x".repeat(300), ".ferry-tmp-1"]);
  const size = pick(random, [0, 1, 5, 1024, 2 ** 40]);
  const sha = "0".repeat(64);
  return pick<Message>(random, [
    { type: "hello", version: PROTOCOL_VERSION, agent: "fuzz" },
    { type: "put", id, name, size },
    { type: "put", id, name, size, onConflict: "overwrite" },
    { type: "put", id, name, size, resume: { key: "ef".repeat(16), chunkSize: 1024 * 1024 } },
    { type: "put_from", id, offset: size },
    { type: "put_end", id, sha256: sha },
    { type: "cancel", id },
    { type: "get", id, name },
    { type: "list", id },
    { type: "delete", id, name },
    { type: "stored", id, name, size, sha256: sha },
  ]);
}

const VECTORS = [...CONTROL_VECTORS, ...DATA_VECTORS].map((v) => v.bytes);

/** One of the spec's vectors, mutated the ways a broken or hostile peer would. */
function mutatedVector(random: Random): Buffer {
  const bytes = Buffer.from(pick(random, VECTORS));
  switch (int(random, 8)) {
    case 0: // flip one bit anywhere
      bytes[int(random, bytes.length)]! ^= 1 << int(random, 8);
      return bytes;
    case 1: // another length, the body unchanged
      bytes.writeUInt32BE(pick(random, [0, 1, bytes.length, 65_536, 65_537, 0xffffffff, int(random, 2 ** 32)]), 1);
      return bytes;
    case 2: // another frame type
      bytes[0] = pick(random, [0, 1, 2, 3, 0x16, 0xff]);
      return bytes;
    case 3: // truncated
      return bytes.subarray(0, int(random, bytes.length));
    case 4: // a JSON byte replaced by one that breaks strings, numbers or UTF-8
      if (bytes.length > 5) bytes[5 + int(random, bytes.length - 5)] = pick(random, [0x22, 0x5c, 0x7b, 0x7d, 0x2c, 0x30, 0x2d, 0xc3, 0xff, 0x00]);
      return bytes;
    case 5: // spliced onto another vector's tail
      return Buffer.concat([bytes.subarray(0, int(random, bytes.length)), pick(random, VECTORS).subarray(int(random, 5))]);
    case 6: // random bytes inserted
      return Buffer.concat([bytes.subarray(0, 5), randomBytes(random, 1 + int(random, 16)), bytes.subarray(5)]);
    default: // as written
      return bytes;
  }
}

/** One connection's bytes: a valid start, then a mix of frames, some of them damaged. */
function session(random: Random): Buffer {
  const parts: Buffer[] = [];
  const start = int(random, 10);
  if (start === 0) return randomBytes(random, 1 + int(random, 64)); // junk from byte 0
  parts.push(encodePreamble());
  if (start > 1) parts.push(...encodeControl({ type: "hello", version: PROTOCOL_VERSION, agent: "fuzz" }));
  for (let frames = 1 + int(random, 8); frames > 0; frames--) {
    const kind = random();
    if (kind < 0.5) {
      parts.push(mutatedVector(random));
      continue;
    }
    const frame = kind < 0.85 ? Buffer.concat(encodeControl(message(random))) : Buffer.concat(encodeData(randomBytes(random, int(random, 40))));
    const mutation = int(random, 6);
    if (mutation === 0 && frame.length > 0) frame[int(random, frame.length)] = int(random, 256); // flip a byte
    if (mutation === 1) parts.push(frame.subarray(0, int(random, frame.length))); // truncate
    else if (mutation === 2) parts.push(frame, frame); // duplicate
    else parts.push(frame);
  }
  return Buffer.concat(parts);
}

/** Sends `bytes` in random pieces, then half-closes; resolves when the server has closed. */
function play(port: number, bytes: Buffer, random: Random): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.on("error", () => undefined);
    socket.on("close", () => resolve());
    socket.resume();
    socket.on("connect", () => {
      for (let at = 0; at < bytes.length; ) {
        const piece = 1 + int(random, 64);
        socket.write(bytes.subarray(at, at + piece));
        at += piece;
      }
      if (random() < 0.8) socket.end(); // the rest stall, for the timeouts to find
    });
  });
}

describe("fuzz", () => {
  it("survives random and mutated frames, then serves a normal upload", async () => {
    const seed = Number(process.env.FERRY_FUZZ_SEED ?? Date.now() % 2 ** 31);
    // Bounded by count, not time, so a loaded machine runs the same sessions, only slower.
    const rounds = Number(process.env.FERRY_FUZZ_ROUNDS ?? 24);
    const seconds = process.env.FERRY_FUZZ_SECONDS === undefined ? undefined : Number(process.env.FERRY_FUZZ_SECONDS);
    const random = prng(seed);
    // The store is one folder of a sandbox: anything written beside it was written outside the root.
    const sandbox = await tempDir("ferry-fuzz-");
    const store = path.join(sandbox.dir, "store");
    const server = await startTestServer({ dir: store, raw: false, handshakeTimeoutMs: 300, idleTimeoutMs: 500, rateWindowMs: 200 });
    const descriptorsBefore = readdirSync("/proc/self/fd").length;
    try {
      const until = seconds === undefined ? undefined : performance.now() + seconds * 1000;
      let played = 0;
      for (let round = 0; until === undefined ? round < rounds : performance.now() < until; round++) {
        await Promise.all(Array.from({ length: 16 }, () => play(server.port, session(random), random)));
        played += 16;
      }
      if (seconds !== undefined) console.log(`fuzz: ${played} sessions in ${seconds} s (seed ${seed})`);
      const client = await FerryClient.connect({ port: server.port });
      const body = Buffer.from("after the storm");
      const stored = await client.uploadStream([body], { name: "after.txt", size: body.length, onConflict: "overwrite" });
      expect(stored.digest.hex, `seed ${seed}`).toBe(sha256(body));
      await client.close();

      await waitFor(() => server.server.activeConnections === 0);
      // Lingering closes end within LINGER_MS; a leaked descriptor never does (the hang detector says so).
      await waitFor(() => readdirSync("/proc/self/fd").length <= descriptorsBefore + 4, 100);
      const leftovers = (await listDir(store)).filter((name) => name.startsWith(".ferry-tmp"));
      expect(leftovers, `seed ${seed}`).toEqual([]);
      expect(await readdir(sandbox.dir), `seed ${seed}`).toEqual(["store"]);
      expect(readdirSync("/proc/self/fd").length, `seed ${seed}`).toBeLessThanOrEqual(descriptorsBefore + 4);
    } finally {
      await server.cleanup();
      await sandbox.cleanup();
    }
  });
});
