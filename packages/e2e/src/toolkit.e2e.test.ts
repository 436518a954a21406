import { execFileSync } from "node:child_process";
import { lstat, mkdir, readFile, readdir, symlink, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FerryClient } from "@ferry/client-core";
import { clientFailure } from "./testing/client-helpers.js";
import { listDir, sha256, sha256File, startTestServer, tempDir, waitFor, WirePeer, writeRandomFile, type TestServer } from "@ferry/server-core/testing";

let server: TestServer;
let local: Awaited<ReturnType<typeof tempDir>>;
let client: FerryClient;

beforeEach(async () => {
  server = await startTestServer();
  local = await tempDir("ferry-local-");
  client = await FerryClient.connect({ port: server.port });
});
afterEach(async () => {
  await client.close();
  await server.cleanup();
  await local.cleanup();
});

const codeOf = async (promise: Promise<unknown>) => (await clientFailure(promise)).code;

async function put(name: string, text: string, onConflict?: "rename" | "overwrite" | "skip" | "fail") {
  const body = Buffer.from(text);
  return client.uploadStream([body], { name, size: body.length, onConflict });
}

describe("download", () => {
  it("brings a 5 MiB file back byte-identical, verified, under the name asked for", async () => {
    const source = path.join(local.dir, "src.bin");
    const expected = await writeRandomFile(source, 5 * 1024 * 1024);
    await client.upload(source, { name: "big.bin" });
    const into = path.join(local.dir, "inbox");
    const progress: number[] = [];
    const result = await client.download("big.bin", { dir: into, onProgress: (p) => progress.push(p.bytes) });
    expect(result).toMatchObject({ name: "big.bin", size: 5 * 1024 * 1024, digest: { algorithm: "sha256", hex: expected }, outcome: "created" });
    expect(await sha256File(path.join(into, "big.bin"))).toBe(expected);
    expect(progress.at(-1)).toBe(5 * 1024 * 1024);
    expect(await readdir(into)).toEqual(["big.bin"]); // no temp left
  });

  it("answers STORAGE_ERROR in place of the missing bytes when the stored file shrinks mid-download", async () => {
    const size = 64 * 1024 * 1024;
    await writeRandomFile(path.join(local.dir, "src.bin"), size);
    await client.upload(path.join(local.dir, "src.bin"), { name: "shrinks.bin" });
    const { peer } = await WirePeer.handshake(server.port);
    try {
      // Not reading: the server stops at the socket's backpressure, well before the end of the file.
      peer.socket.pause();
      peer.send({ type: "get", id: 1, name: "shrinks.bin" });
      await waitFor(() => peer.socket.readableLength > 0); // the download has begun
      await truncate(path.join(server.dir, "shrinks.bin"), size - 16 * 1024 * 1024);
      peer.socket.resume();
      expect(await peer.next()).toMatchObject({ type: "get_begin", id: 1, size });
      expect(await peer.next()).toMatchObject({ type: "error", id: 1, code: "STORAGE_ERROR" });
      // The connection goes on serving.
      peer.send({ type: "list", id: 2 });
      expect(await peer.next()).toMatchObject({ type: "listing", id: 2 });
    } finally {
      peer.socket.destroy();
    }
  });

  it("answers NOT_FOUND for a missing file and keeps the connection usable", async () => {
    expect(await codeOf(client.download("nope.txt", { dir: local.dir }))).toBe("NOT_FOUND");
    await put("after.txt", "still fine");
    expect((await client.download("after.txt", { dir: local.dir })).size).toBe(10);
  });

  it("never follows a symlink planted in the storage dir", async () => {
    await writeFile(path.join(local.dir, "secret.txt"), "outside the root");
    await symlink(path.join(local.dir, "secret.txt"), path.join(server.dir, "link.txt"));
    expect(await codeOf(client.download("link.txt", { dir: path.join(local.dir, "in") }))).toBe("NOT_FOUND");
  });

  it("never replaces a symlink planted in the storage dir, even with onConflict overwrite", async () => {
    await writeFile(path.join(local.dir, "secret.txt"), "outside the root");
    await symlink(path.join(local.dir, "secret.txt"), path.join(server.dir, "planted-link"));
    const body = Buffer.from("replacement");
    const refused = client.uploadStream([body], { name: "planted-link", size: body.length, onConflict: "overwrite" });
    expect(await codeOf(refused)).toBe("BAD_NAME");
    expect((await lstat(path.join(server.dir, "planted-link"))).isSymbolicLink()).toBe(true);
    expect(await readFile(path.join(local.dir, "secret.txt"), "utf8")).toBe("outside the root");
    expect((await listDir(server.dir)).filter((name) => name.startsWith(".ferry-tmp"))).toEqual([]);
  });

  // Opening a FIFO for reading waits for a writer; the server opens with O_NONBLOCK, so a FIFO
  // planted in the storage dir is refused at once instead of hanging the server.
  it.runIf(process.platform !== "win32")("refuses a FIFO planted in the storage dir without waiting for a writer", async () => {
    execFileSync("mkfifo", [path.join(server.dir, "pipe.txt")]);
    expect(await codeOf(client.download("pipe.txt", { dir: path.join(local.dir, "in") }))).toBe("NOT_FOUND");
    expect((await client.list()).map((e) => e.name)).not.toContain("pipe.txt");
  });

  it("refuses a hostile name before asking", async () => {
    expect(await codeOf(client.download("../etc/passwd", { dir: local.dir }))).toBe("BAD_NAME");
  });

  describe("local conflict policies", () => {
    beforeEach(async () => {
      await put("doc.txt", "server copy");
      await writeFile(path.join(local.dir, "doc.txt"), "local copy");
    });

    it("fail (the default) leaves the local file alone and no temp behind", async () => {
      expect(await codeOf(client.download("doc.txt", { dir: local.dir }))).toBe("ALREADY_EXISTS");
      expect(await readFile(path.join(local.dir, "doc.txt"), "utf8")).toBe("local copy");
      expect(await readdir(local.dir)).toEqual(["doc.txt"]);
    });

    it("skip keeps the local file", async () => {
      const result = await client.download("doc.txt", { dir: local.dir, onConflict: "skip" });
      expect(result.outcome).toBe("skipped");
      expect(await readFile(path.join(local.dir, "doc.txt"), "utf8")).toBe("local copy");
    });

    it("overwrite replaces it", async () => {
      const result = await client.download("doc.txt", { dir: local.dir, onConflict: "overwrite" });
      expect(result.outcome).toBe("overwritten");
      expect(await readFile(path.join(local.dir, "doc.txt"), "utf8")).toBe("server copy");
    });

    it("rename writes doc (1).txt", async () => {
      const result = await client.download("doc.txt", { dir: local.dir, onConflict: "rename" });
      expect(result).toMatchObject({ name: "doc (1).txt", outcome: "renamed" });
      expect(await readFile(path.join(local.dir, "doc (1).txt"), "utf8")).toBe("server copy");
    });
  });
});

describe("server conflict policies on upload", () => {
  beforeEach(async () => {
    await put("a.txt", "original");
  });

  it("rename (the default) stores a (1).txt", async () => {
    expect(await put("a.txt", "second")).toMatchObject({ name: "a (1).txt", outcome: "renamed" });
  });

  it("overwrite replaces the file atomically", async () => {
    expect(await put("a.txt", "replaced", "overwrite")).toMatchObject({ name: "a.txt", outcome: "overwritten" });
    expect(await readFile(path.join(server.dir, "a.txt"), "utf8")).toBe("replaced");
    expect(await listDir(server.dir)).toEqual(["a.txt"]);
  });

  it("skip keeps the stored file", async () => {
    expect(await put("a.txt", "ignored", "skip")).toMatchObject({ name: "a.txt", outcome: "skipped" });
    expect(await readFile(path.join(server.dir, "a.txt"), "utf8")).toBe("original");
  });

  it("fail answers ALREADY_EXISTS and leaves no temp", async () => {
    expect(await codeOf(put("a.txt", "refused", "fail"))).toBe("ALREADY_EXISTS");
    expect(await readFile(path.join(server.dir, "a.txt"), "utf8")).toBe("original");
    await client.close();
    await server.closedConnections(1);
    expect(await listDir(server.dir)).toEqual(["a.txt"]);
  });
});

describe("list and delete", () => {
  it("lists stored files with size, mtime and the SHA-256 recorded at upload, hiding Ferry's own files", async () => {
    await put("b.txt", "bee");
    await put("a.txt", "ay");
    await writeFile(path.join(server.dir, "dropped-in.txt"), "not via ferry");
    await mkdir(path.join(server.dir, "a-directory"));
    const entries = await client.list();
    expect(entries.map((e) => e.name)).toEqual(["a.txt", "b.txt", "dropped-in.txt"]);
    expect(entries[0]).toMatchObject({ size: 2, sha256: sha256(Buffer.from("ay")) });
    expect(entries[0]!.mtime).toBeGreaterThan(Date.now() - 60_000);
    expect(entries[2]!.sha256).toBeNull(); // never verified by the server, so never claimed
  });

  it("pages a listing longer than one frame", async () => {
    await Promise.all(Array.from({ length: 600 }, (_, i) => put(`f${String(i).padStart(3, "0")}.txt`, `${i}`)));
    const entries = await client.list();
    expect(entries).toHaveLength(600);
    expect(entries.at(-1)!.name).toBe("f599.txt");
  });

  it("keeps recorded hashes across a restart, and drops them for a file changed behind its back", async () => {
    await put("kept.txt", "kept");
    await put("changed.txt", "before");
    await client.close();
    await server.server.stop();
    await writeFile(path.join(server.dir, "changed.txt"), "after, and longer");
    const again = await startTestServer({ dir: server.dir });
    try {
      const other = await FerryClient.connect({ port: again.port });
      const entries = await other.list();
      await other.close();
      expect(entries.find((e) => e.name === "kept.txt")!.sha256).toBe(sha256(Buffer.from("kept")));
      expect(entries.find((e) => e.name === "changed.txt")!.sha256).toBeNull();
    } finally {
      await again.server.stop();
    }
  });

  it("deletes a file, then answers NOT_FOUND for it", async () => {
    await put("gone.txt", "bye");
    await client.delete("gone.txt");
    expect(await listDir(server.dir)).toEqual([]);
    expect(await codeOf(client.delete("gone.txt"))).toBe("NOT_FOUND");
    expect((await client.list()).map((e) => e.name)).toEqual([]);
  });
});
