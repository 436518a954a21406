// The transfer digest negotiated in the handshake (protocol.md §4.7): BLAKE3 on request, SHA-256
// otherwise, files recorded with the algorithm they came with, and no comparison across algorithms.
import { createReadStream } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClientError, FerryClient } from "@ferry/client-core";
import { createHasher } from "@ferry/node-io";
import { encodePreamble } from "@ferry/protocol";
import { frame } from "@ferry/protocol/testing";
import { sha256File, startTestServer, tempDir, WirePeer, writeRandomFile, type TestServer } from "@ferry/server-core/testing";

const MiB = 1024 * 1024;
let server: TestServer;
let local: Awaited<ReturnType<typeof tempDir>>;

beforeEach(async () => {
  server = await startTestServer({ fsync: true });
  local = await tempDir("ferry-digest-");
});
afterEach(async () => {
  await server.cleanup();
  await local.cleanup();
});

async function blake3File(file: string): Promise<string> {
  const hasher = createHasher("blake3");
  for await (const chunk of createReadStream(file)) hasher.update(chunk as Buffer);
  return hasher.digest("hex");
}

describe("the handshake", () => {
  it("names no digest to a HELLO that asks for none (v1), and the first offered one it can receive otherwise", async () => {
    for (const [digests, expected] of [
      [undefined, undefined],
      [["sha256"], "sha256"],
      [["blake3", "sha256"], "blake3"],
      [["sha256", "blake3"], "sha256"],
    ] as const) {
      const { peer, welcome } = await WirePeer.handshake(server.port, digests ? { digests: [...digests] } : {});
      expect(welcome.type).toBe("welcome");
      expect(welcome.type === "welcome" && welcome.digest).toBe(expected ?? undefined);
      expect("digest" in welcome).toBe(expected !== undefined);
      peer.socket.destroy();
    }
  });

  it("refuses a HELLO offering an unknown digest as malformed (BAD_MESSAGE) and serves the next client", async () => {
    const peer = await WirePeer.connect(server.port);
    peer.write(encodePreamble());
    peer.write(frame(0x01, '{"type":"hello","version":1,"agent":"t","digests":["md5"]}'));
    const answer = await peer.next();
    expect(answer.type === "error" && answer.code).toBe("BAD_MESSAGE");
    await peer.closed;
    const client = await FerryClient.connect({ port: server.port, digest: "blake3" });
    expect(client.digest).toBe("blake3");
    await client.close();
  });
});

describe("BLAKE3 transfers (--digest blake3)", () => {
  it("upload (resumable and whole), list with the algorithm named, and download verified by either digest", async () => {
    const big = path.join(local.dir, "big.bin");
    const small = path.join(local.dir, "small.txt");
    await writeRandomFile(big, 20 * MiB + 5);
    await writeRandomFile(small, 3000);
    const client = await FerryClient.connect({ port: server.port, digest: "blake3" });
    const bigStored = await client.upload(big);
    const smallStored = await client.upload(small);
    expect(bigStored.digest).toEqual({ algorithm: "blake3", hex: await blake3File(big) });
    expect(smallStored.digest).toEqual({ algorithm: "blake3", hex: await blake3File(small) });
    const listing = await client.list();
    expect(listing).toEqual([
      expect.objectContaining({ name: "big.bin", sha256: null, blake3: bigStored.digest.hex }),
      expect.objectContaining({ name: "small.txt", sha256: null, blake3: smallStored.digest.hex }),
    ]);
    const got = await client.download("big.bin", { dir: path.join(local.dir, "b3") });
    expect(got.digest).toEqual(bigStored.digest);
    await client.close();
    expect(await sha256File(got.path)).toBe(await sha256File(big));

    // A SHA-256 connection downloads the same file checked with SHA-256, hashed as it is sent.
    const plain = await FerryClient.connect({ port: server.port });
    const again = await plain.download("big.bin", { dir: path.join(local.dir, "sha") });
    expect(again.digest).toEqual({ algorithm: "sha256", hex: await sha256File(big) });
    await plain.close();
  });

  it("counts a comparison across algorithms as changed: skipIdentical stores again, then finds it unchanged in its own algorithm", async () => {
    const file = path.join(local.dir, "same.bin");
    await writeRandomFile(file, 100_000);
    const plain = await FerryClient.connect({ port: server.port });
    expect((await plain.upload(file)).outcome).toBe("created");
    await plain.close();
    const fast = await FerryClient.connect({ port: server.port, digest: "blake3" });
    expect((await fast.upload(file, { skipIdentical: true, onConflict: "overwrite" })).outcome).toBe("overwritten");
    expect((await fast.upload(file, { skipIdentical: true, onConflict: "overwrite" })).outcome).toBe("unchanged");
    await fast.close();
  });

  it("resumes an interrupted upload and download with BLAKE3 chunk digests, byte-identical", async () => {
    const source = path.join(local.dir, "r.bin");
    await writeRandomFile(source, 48 * MiB);
    const cut = await FerryClient.connect({ port: server.port, digest: "blake3" });
    const controller = new AbortController();
    const error = await cut.upload(source, { signal: controller.signal, onProgress: (p) => p.bytes >= p.total / 2 && controller.abort() }).catch((e: unknown) => e);
    expect((error as ClientError).code).toBe("ABORTED");
    await cut.close();
    await server.closedConnections(1);
    const client = await FerryClient.connect({ port: server.port, digest: "blake3" });
    const stored = await client.upload(source);
    expect(stored.resumedFrom).toBeGreaterThan(0);
    expect(stored.digest).toEqual({ algorithm: "blake3", hex: await blake3File(source) });

    const into = path.join(local.dir, "into");
    const stop = new AbortController();
    const stopped = await client.download("r.bin", { dir: into, signal: stop.signal, onProgress: (p) => p.bytes >= p.total / 2 && stop.abort() }).catch((e: unknown) => e);
    expect((stopped as ClientError).code).toBe("ABORTED");
    await client.close();
    const resumed = await FerryClient.connect({ port: server.port, digest: "blake3" });
    const got = await resumed.download("r.bin", { dir: into });
    await resumed.close();
    expect(got.resumedFrom).toBeGreaterThan(0);
    expect(got.digest).toEqual(stored.digest);
    expect((await readFile(path.join(into, "r.bin"))).equals(await readFile(source))).toBe(true);
  });

  it("resumes a download from an earlier chunk than it offered when the server's file changed after it", async () => {
    const source = path.join(local.dir, "c.bin");
    await writeRandomFile(source, 48 * MiB);
    const client = await FerryClient.connect({ port: server.port, digest: "blake3" });
    await client.upload(source, { resume: false });
    const into = path.join(local.dir, "into");
    const stop = new AbortController();
    await client.download("c.bin", { dir: into, signal: stop.signal, onProgress: (p) => p.bytes >= 40 * MiB && stop.abort() }).catch(() => undefined);
    // Change one byte at 12 MiB, inside the second 8 MiB chunk: only the first chunk still matches.
    const changed = await readFile(source);
    changed[12 * MiB] = changed[12 * MiB]! ^ 0xff;
    const changedFile = path.join(local.dir, "c2.bin");
    await writeFile(changedFile, changed);
    await client.upload(changedFile, { name: "c.bin", onConflict: "overwrite", resume: false });
    const got = await client.download("c.bin", { dir: into });
    await client.close();
    expect(got.resumedFrom).toBe(8 * MiB);
    expect(got.digest).toEqual({ algorithm: "blake3", hex: await blake3File(changedFile) });
    expect((await readFile(path.join(into, "c.bin"))).equals(changed)).toBe(true);
  });
});
