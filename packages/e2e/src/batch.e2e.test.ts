import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FerryClient } from "@ferry/client-core";
import type { Message } from "@ferry/protocol";
import { clientFailure } from "./testing/client-helpers.js";
import { listDir, sha256, startTestServer, tempDir, waitFor, WirePeer, writeRandomFile, type TestServer } from "@ferry/server-core/testing";

let server: TestServer;

beforeEach(async () => {
  server = await startTestServer({ fsync: true });
});
afterEach(async () => {
  await server.cleanup();
});

const body = (text: string): Buffer => Buffer.from(text);

/** Sends `bytes` as DATA frames of `piece` bytes (the batch's files back to back, cut anywhere). */
function sendInPieces(peer: WirePeer, bytes: Buffer, piece: number): void {
  for (let at = 0; at < bytes.length; at += piece) peer.data(bytes.subarray(at, at + piece));
}

describe("PUT_BATCH", () => {
  it("stores every good file and refuses the others one by one, in one answer, whatever the DATA cuts", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    const good = body("first file\n");
    const empty = body("");
    const lied = body("not what was declared");
    const bad = body("bad name");
    const last = body("last\n");
    peer.send({
      type: "put_batch",
      id: 3,
      files: [
        { name: "one.txt", size: good.length, sha256: sha256(good) },
        { name: "empty.txt", size: 0, sha256: sha256(empty) },
        { name: "lied.txt", size: lied.length, sha256: sha256(body("something else")) },
        { name: "../bad.txt", size: bad.length, sha256: sha256(bad) },
        { name: "d/last.txt", size: last.length, sha256: sha256(last) },
      ],
    });
    sendInPieces(peer, Buffer.concat([good, empty, lied, bad, last]), 3);
    const answer = await peer.next();
    expect(answer).toEqual({
      type: "batch_stored",
      id: 3,
      results: [
        { name: "one.txt", outcome: "created" },
        { name: "empty.txt", outcome: "created" },
        { code: "CHECKSUM_MISMATCH", message: expect.any(String) },
        { code: "BAD_NAME", message: expect.any(String) },
        { name: "d/last.txt", outcome: "created" },
      ],
    });
    expect(await readFile(path.join(server.dir, "d", "last.txt"), "utf8")).toBe("last\n");
    expect((await listDir(server.dir)).sort()).toEqual(["d", "empty.txt", "one.txt"]);
    // The connection goes on: a PUT after the batch is served as usual.
    peer.send({ type: "put", id: 4, name: "after.txt", size: 1 });
    peer.data(body("x"));
    peer.send({ type: "put_end", id: 4, sha256: sha256(body("x")) });
    expect(await peer.next()).toMatchObject({ type: "stored", id: 4, name: "after.txt" });
    peer.socket.destroy();
  });

  it("answers in request order with the PUTs around it, and never replaces a file under the default policy", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    const a = body("a");
    peer.send({ type: "put", id: 1, name: "same.txt", size: 1 });
    peer.data(a);
    peer.send({ type: "put_end", id: 1, sha256: sha256(a) });
    peer.send({ type: "put_batch", id: 2, files: [{ name: "same.txt", size: 1, sha256: sha256(a) }] });
    peer.data(a);
    peer.send({ type: "put", id: 3, name: "z.txt", size: 1 });
    peer.data(a);
    peer.send({ type: "put_end", id: 3, sha256: sha256(a) });
    const answers: Message[] = [await peer.next(), await peer.next(), await peer.next()];
    expect(answers.map((m) => m.type)).toEqual(["stored", "batch_stored", "stored"]);
    // Commits run side by side, so either may take the name first; neither replaces the other.
    const names = [answers[0]!.type === "stored" && answers[0]!.name, answers[1]!.type === "batch_stored" && "name" in answers[1]!.results[0]! && answers[1]!.results[0]!.name];
    expect(names.sort()).toEqual(["same (1).txt", "same.txt"]);
    peer.socket.destroy();
  });

  it("holds no file in memory: every byte of a batch still arriving is already in its temp file", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    const files = ["a", "b", "c"].map((letter) => ({ name: `${letter}.bin`, bytes: Buffer.alloc(40_000, letter) }));
    peer.send({ type: "put_batch", id: 1, files: files.map((f) => ({ name: f.name, size: f.bytes.length, sha256: sha256(f.bytes) })) });
    const all = Buffer.concat(files.map((f) => f.bytes));
    sendInPieces(peer, all.subarray(0, 100_000), 16_384); // a and b whole, half of c
    const temps = async () => {
      const names = (await readdir(server.dir)).filter((n) => n.startsWith(".ferry-tmp-"));
      return Promise.all(names.map(async (n) => (await stat(path.join(server.dir, n))).size));
    };
    const sum = (sizes: number[]) => sizes.reduce((a, b) => a + b, 0);
    await waitFor(async () => sum(await temps()) === 100_000);
    expect((await temps()).sort()).toEqual([20_000, 40_000, 40_000]);
    sendInPieces(peer, all.subarray(100_000), 16_384);
    expect(await peer.next()).toMatchObject({ type: "batch_stored", results: files.map((f) => ({ name: f.name, outcome: "created" })) });
    expect(await temps()).toEqual([]);
    peer.socket.end();
  });

  it("drops a cancelled batch whole: ERROR CANCELLED, nothing stored, the connection goes on", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    const a = body("aaaa");
    peer.send({ type: "put_batch", id: 5, files: [{ name: "c1.txt", size: 4, sha256: sha256(a) }, { name: "c2.txt", size: 4, sha256: sha256(a) }] });
    peer.data(Buffer.concat([a, a.subarray(0, 2)]));
    peer.send({ type: "cancel", id: 5 });
    expect(await peer.next()).toMatchObject({ type: "error", id: 5, code: "CANCELLED" });
    peer.send({ type: "list", id: 6 });
    expect(await peer.next()).toMatchObject({ type: "listing", id: 6, entries: [] });
    expect(await listDir(server.dir)).toEqual([]);
    peer.socket.destroy();
  });

  it("treats a byte beyond the declared total as a protocol error, and stores nothing of that batch", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    const a = body("abc");
    peer.send({ type: "put_batch", id: 7, files: [{ name: "x.txt", size: 2, sha256: sha256(a.subarray(0, 2)) }] });
    peer.data(a); // one byte too many in the same frame
    expect(await peer.next()).toMatchObject({ type: "error", code: "UNEXPECTED_MESSAGE" });
    await peer.closed;
    await server.closedConnections(1);
    expect(await listDir(server.dir)).toEqual([]);
  });

  it("counts every file against the connection's file limit and refuses the files past it", async () => {
    const capped = await startTestServer({ maxFilesPerConnection: 2 });
    try {
      const { peer } = await WirePeer.handshake(capped.port);
      const a = body("a");
      const files = ["f1", "f2", "f3"].map((name) => ({ name, size: 1, sha256: sha256(a) }));
      peer.send({ type: "put_batch", id: 1, files });
      peer.data(Buffer.concat([a, a, a]));
      const answer = await peer.next();
      expect(answer.type === "batch_stored" && answer.results.map((r) => ("code" in r ? r.code : r.outcome))).toEqual([
        "created",
        "created",
        "TOO_MANY_FILES",
      ]);
      peer.socket.destroy();
    } finally {
      await capped.cleanup();
    }
  });

  it("a client aborted part-way through a batch's bytes cancels it, and the connection goes on", async () => {
    const local = await tempDir("ferry-batch-");
    const client = await FerryClient.connect({ port: server.port });
    try {
      // ~6 MiB of bytes: the socket fills, so the abort lands while the batch is being sent.
      const entries = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const localPath = path.join(local.dir, `f${i}.bin`);
          await writeRandomFile(localPath, 64 * 1024);
          return { localPath, name: `f${i}.bin` };
        }),
      );
      const controller = new AbortController();
      const batch = client.uploadBatch(entries, { signal: controller.signal });
      setImmediate(() => controller.abort());
      expect((await clientFailure(batch)).code).toBe("ABORTED");
      await writeFile(path.join(local.dir, "after.txt"), "after\n");
      expect(await client.upload(path.join(local.dir, "after.txt"))).toMatchObject({ name: "after.txt" });
      expect(await listDir(server.dir)).toEqual(["after.txt"]);
    } finally {
      await client.close();
      await local.cleanup();
    }
  });

  it("a batch none of whose files can be read sends nothing, fails each file alone, and the batches queued behind it go on", async () => {
    const local = await tempDir("ferry-batch-");
    const client = await FerryClient.connect({ port: server.port });
    try {
      await writeFile(path.join(local.dir, "good.txt"), "good\n");
      const missing = [0, 1].map((i) => ({ localPath: path.join(local.dir, `missing${i}`), name: `missing${i}`, size: 3 }));
      const good = [{ localPath: path.join(local.dir, "good.txt"), name: "good.txt", size: 5 }];
      // Queued together: the second waits for the wire the first holds, then gives up unused.
      const [unread, sent] = await Promise.all([client.uploadBatch(missing), client.uploadBatch(good)]);
      expect(unread!.map((r) => (r instanceof Error ? (r as { code?: string }).code : r.name))).toEqual(["LOCAL_FILE_ERROR", "LOCAL_FILE_ERROR"]);
      expect(sent).toMatchObject([{ name: "good.txt", size: 5, outcome: "created" }]);
      expect(await listDir(server.dir)).toEqual(["good.txt"]);
    } finally {
      await client.close();
      await local.cleanup();
    }
  });
});
