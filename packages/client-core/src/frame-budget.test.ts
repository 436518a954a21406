import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { FerryClient } from "./ferry-client.js";
import { startFakeServer, welcome } from "./testing/fake-server.js";

// Regression guard that needs no clock: how many frames a MiB costs. Default DATA frames are
// 1 MiB; a change that shrinks them multiplies per-frame work on both ends (the benchmark saw
// ~25% lower throughput with 256 KiB frames) and shows up here first.
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

it("sends 8 MiB in exactly 8 DATA frames, none above the announced limit", async () => {
  const sizes: number[] = [];
  const server = await startFakeServer(async (conn) => {
    await conn.nextFrame();
    conn.send(welcome());
    const put = await conn.nextFrame();
    for (;;) {
      const frame = await conn.nextFrame();
      if (frame.kind === "data") {
        sizes.push(frame.payload.length);
        continue;
      }
      if (frame.message.type === "put_end" && put.kind === "control" && put.message.type === "put") {
        conn.send({ type: "stored", id: put.message.id, name: "x", size: put.message.size, sha256: frame.message.sha256 });
      }
      return;
    }
  });
  cleanups.push(() => server.close());
  const MiB = 1024 * 1024;
  const dir = await mkdtemp(path.join(tmpdir(), "ferry-frames-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, "eight.bin");
  await writeFile(file, Buffer.alloc(8 * MiB, 1));
  const client = await FerryClient.connect({ port: server.port });
  await client.upload(file);
  await client.close();
  expect(sizes).toEqual(Array.from({ length: 8 }, () => MiB));
});
