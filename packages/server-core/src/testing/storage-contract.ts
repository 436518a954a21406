// The Storage contract (`@ferry/server-core/storage-contract`): one suite every implementation of
// the storage seam runs, as tusd's stores run its DataStore tests. The local directory runs it in
// server-core; the cluster storage (S3 + PostgreSQL) in @ferry/cluster-store.
import { createHash, randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConflictPolicy, DigestAlgorithm } from "@ferry/protocol";
import { digestOf } from "@ferry/node-io";
import { ServerError } from "../errors.js";
import type { IncomingFile } from "../incoming-file.js";
import type { Storage } from "../storage.js";

export interface StorageFixture {
  /** Another view of the same store, as a second server would have (local: the same directory). */
  open(): Promise<Storage>;
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /**
   * Views share live state: quota reservations and the hold on a resumable upload made through one
   * count in another (a shared catalog: true; one local directory is served by one server: false).
   */
  viewsShareState: boolean;
  /** The transfer digests the implementation says it receives (`Storage.digests`), which the digest case then exercises one by one. */
  digests: readonly DigestAlgorithm[];
}

const MiB = 1024 * 1024;

function sha(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Writes `bytes` into `file` in pieces of `piece`, waiting when it asks. */
async function send(file: IncomingFile, bytes: Buffer, piece = 256 * 1024): Promise<void> {
  for (let at = 0; at < bytes.length; at += piece) {
    if (!file.write(bytes.subarray(at, at + piece))) await file.drained();
  }
  await file.drained();
}

/** send(), then finishes the file; returns its SHA-256. */
async function fill(file: IncomingFile, bytes: Buffer): Promise<string> {
  await send(file, bytes);
  return file.finish(false);
}

async function store(storage: Storage, name: string, bytes: Buffer, policy: ConflictPolicy = "rename", skipIdentical = false, algorithm: DigestAlgorithm = "sha256") {
  const file = await storage.createIncoming(bytes.length, algorithm);
  const hex = await fill(file, bytes);
  try {
    return await storage.publish(file, name, policy, { size: bytes.length, digest: { algorithm, hex } }, skipIdentical);
  } catch (error) {
    await file.discard();
    throw error;
  }
}

async function readAll(storage: Storage, name: string): Promise<Buffer> {
  const reader = await storage.openForRead(name);
  try {
    const out = Buffer.alloc(reader.size);
    for (let at = 0; at < reader.size; ) {
      const got = await reader.read(out.subarray(at), Math.min(MiB, reader.size - at), at);
      if (got === 0) throw new Error(`${name} ended at ${at} of ${reader.size}`);
      at += got;
    }
    return out;
  } finally {
    reader.close();
  }
}

async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    return error instanceof ServerError ? error.code : `not a ServerError: ${String(error)}`;
  }
  return "no error";
}

export function storageContract(name: string, fresh: () => Promise<StorageFixture>, options: ContractOptions): void {
  describe(`Storage contract: ${name}`, () => {
    let fixture: StorageFixture;
    let storage: Storage;
    beforeEach(async () => {
      fixture = await fresh();
      storage = await fixture.open();
    });
    afterEach(async () => {
      await storage.close();
      await fixture.cleanup();
    });

    it("publishes a file that lists with its SHA-256 and reads back byte-identical, at any position", async () => {
      const bytes = randomBytes(3 * MiB + 17);
      expect(await store(storage, "docs/a.bin", bytes)).toEqual({ name: "docs/a.bin", outcome: "created" });
      const [entry] = await storage.list();
      expect(entry).toMatchObject({ name: "docs/a.bin", size: bytes.length, sha256: sha(bytes) });
      expect(typeof entry!.mtime).toBe("number");
      expect(sha(await readAll(storage, "docs/a.bin"))).toBe(sha(bytes));
      const reader = await storage.openForRead("docs/a.bin");
      // The reader names its version the way the listing does (share pages and ETags use it).
      expect({ size: reader.size, digest: reader.digest, mtime: reader.mtime }).toEqual({ size: entry!.size, digest: { algorithm: "sha256", hex: entry!.sha256 }, mtime: entry!.mtime });
      const piece = Buffer.alloc(1000);
      for (const at of [2 * MiB + 5, 10, bytes.length - 1000]) {
        expect(await reader.read(piece, 1000, at)).toBe(1000);
        expect(piece.equals(bytes.subarray(at, at + 1000))).toBe(true);
      }
      expect(await reader.read(piece, 1000, bytes.length)).toBe(0);
      reader.close();
    });

    it("keeps an upload invisible until it is published, and a discarded one leaves nothing", async () => {
      const file = await storage.createIncoming(1000);
      file.write(randomBytes(1000));
      await file.finish(false);
      expect(await storage.list()).toEqual([]);
      await file.discard();
      const small = storage.createSmall(10);
      small.write(Buffer.from("0123456789"));
      await small.discard();
      expect(await storage.list()).toEqual([]);
      expect(await codeOf(storage.openForRead("anything"))).toBe("NOT_FOUND");
    });

    it("applies the conflict policies: rename, fail, skip, overwrite", async () => {
      const first = Buffer.from("first");
      await store(storage, "n.txt", first);
      expect(await store(storage, "n.txt", Buffer.from("second"))).toEqual({ name: "n (1).txt", outcome: "renamed" });
      expect(await codeOf(store(storage, "n.txt", Buffer.from("third"), "fail"))).toBe("ALREADY_EXISTS");
      expect(await store(storage, "n.txt", Buffer.from("fourth"), "skip")).toEqual({ name: "n.txt", outcome: "skipped" });
      expect((await readAll(storage, "n.txt")).toString()).toBe("first");
      expect(await store(storage, "n.txt", Buffer.from("fifth"), "overwrite")).toEqual({ name: "n.txt", outcome: "overwritten" });
      expect((await readAll(storage, "n.txt")).toString()).toBe("fifth");
      expect((await storage.list()).map((e) => e.name)).toEqual(["n (1).txt", "n.txt"]);
      expect((await storage.list()).find((e) => e.name === "n.txt")?.sha256).toBe(sha(Buffer.from("fifth")));
    });

    it("answers unchanged for identical bytes with skipIdentical, and stores different ones", async () => {
      const bytes = randomBytes(5000);
      await store(storage, "same.bin", bytes);
      expect(await store(storage, "same.bin", bytes, "overwrite", true)).toEqual({ name: "same.bin", outcome: "unchanged" });
      expect(await store(storage, "same.bin", randomBytes(5000), "overwrite", true)).toEqual({ name: "same.bin", outcome: "overwritten" });
    });

    it("records each digest it names with its algorithm; identical bytes under another algorithm count as changed", async () => {
      expect([...storage.digests].sort()).toEqual([...options.digests].sort());
      expect(storage.digests).toContain("sha256");
      for (const algorithm of storage.digests.filter((a) => a !== "sha256")) {
        const bytes = randomBytes(100_000);
        const name = `${algorithm}.bin`;
        await store(storage, name, bytes, "rename", false, algorithm);
        const hex = digestOf(algorithm, bytes);
        const entry = (await storage.list()).find((e) => e.name === name);
        expect(entry).toMatchObject({ size: bytes.length, sha256: null, [algorithm]: hex });
        const reader = await storage.openForRead(name);
        expect(reader.digest).toEqual({ algorithm, hex });
        reader.close();
        // The same bytes recorded by another algorithm are not known to be the same: stored anew.
        expect(await store(storage, name, bytes, "overwrite", true)).toEqual({ name, outcome: "overwritten" });
        expect((await storage.list()).find((e) => e.name === name)).toMatchObject({ sha256: sha(bytes) });
        expect(await store(storage, name, bytes, "overwrite", true, algorithm)).toEqual({ name, outcome: "overwritten" });
        expect(await store(storage, name, bytes, "overwrite", true, algorithm)).toEqual({ name, outcome: "unchanged" });

        // A resumable upload offers its chunks, and finishes, in the algorithm it is opened with.
        const big = randomBytes(5 * MiB + 11);
        const header = { name: `${algorithm}-r.bin`, size: big.length, chunkSize: MiB };
        const first = await storage.openResumable(`key-${algorithm}`, header, algorithm);
        await first.file.startAt(0);
        await send(first.file, big.subarray(0, 3 * MiB + 5));
        await first.file.suspend();
        const second = await storage.openResumable(`key-${algorithm}`, header, algorithm);
        expect(second.offset).toBeGreaterThan(0);
        const chunks = [];
        for (let at = 0; at < second.offset; at += MiB) chunks.push(digestOf(algorithm, big.subarray(at, at + MiB)));
        expect(second.file.chunks).toEqual(chunks);
        await second.file.startAt(second.offset);
        expect(await fill(second.file, big.subarray(second.offset))).toBe(digestOf(algorithm, big));
        await second.file.discard();
      }
    });

    it("never lets a file and a folder share a name", async () => {
      await store(storage, "a/b", Buffer.from("x"));
      expect(await store(storage, "a", Buffer.from("y"))).toEqual({ name: "a (1)", outcome: "renamed" });
      expect(await codeOf(store(storage, "a", Buffer.from("y"), "overwrite"))).toBe("BAD_NAME");
      expect(await codeOf(store(storage, "a/b/c", Buffer.from("z")))).toBe("BAD_NAME");
      expect(await codeOf(storage.list("a/b"))).toBe("NOT_FOUND");
    });

    it("lists a folder by code point, and a missing folder is NOT_FOUND", async () => {
      for (const n of ["z/b", "z/\u{1F600}", "z/\u{E000}", "z/A", "top"]) await store(storage, n, Buffer.from(n));
      expect((await storage.list("z")).map((e) => e.name)).toEqual(["z/A", "z/b", "z/\u{E000}", "z/\u{1F600}"]);
      expect((await storage.list()).map((e) => e.name)).toEqual(["top", "z/A", "z/b", "z/\u{E000}", "z/\u{1F600}"]);
      expect(await codeOf(storage.list("nope"))).toBe("NOT_FOUND");
    });

    it("refuses names outside the rules with BAD_NAME", async () => {
      for (const bad of ["../x", "/abs", "a//b", ".ferry-index.jsonl", ""]) {
        expect(await codeOf(() => storage.checkName(bad))).toBe("BAD_NAME");
      }
      expect(await codeOf(store(storage, "../escape", Buffer.from("x")))).toBe("BAD_NAME");
    });

    it("removes a file and the folders it leaves empty; a second removal is NOT_FOUND", async () => {
      await store(storage, "d/e/f.txt", Buffer.from("12345"));
      expect(await storage.remove("d/e/f.txt")).toBe(5);
      expect(await storage.list(undefined, { emptyFolders: true })).toEqual([]);
      expect(await codeOf(storage.remove("d/e/f.txt"))).toBe("NOT_FOUND");
      expect(await codeOf(storage.openForRead("d/e/f.txt"))).toBe("NOT_FOUND");
    });

    it("makes empty folders, lists them with a slash, and removes them", async () => {
      const marker = storage.createSmall(0);
      await marker.finish(false);
      expect(await storage.publish(marker, "empty/", "rename", { size: 0, digest: { algorithm: "sha256", hex: sha(Buffer.alloc(0)) } })).toEqual({ name: "empty/", outcome: "created" });
      const again = storage.createSmall(0);
      await again.finish(false);
      expect((await storage.publish(again, "empty/", "rename", { size: 0, digest: { algorithm: "sha256", hex: sha(Buffer.alloc(0)) } })).outcome).toBe("unchanged");
      expect((await storage.list(undefined, { emptyFolders: true })).map((e) => e.name)).toEqual(["empty/"]);
      expect(await storage.list()).toEqual([]);
      await store(storage, "empty/now-not", Buffer.from("x"));
      expect(await codeOf(storage.removeFolder("empty"))).toBe("NOT_FOUND");
      await storage.remove("empty/now-not");
      expect(await codeOf(storage.removeFolder("empty"))).toBe("NOT_FOUND"); // pruned with its last file
      expect(await storage.list(undefined, { emptyFolders: true })).toEqual([]);
    });

    it("names raw uploads output0.txt, output1.txt… skipping taken names", async () => {
      await store(storage, "output1.txt", Buffer.from("taken"));
      const names: string[] = [];
      for (const text of ["r0", "r1", "r2"]) {
        const file = await storage.createIncoming(null);
        file.write(Buffer.from(text));
        const hex = await file.finish(false);
        names.push(await storage.publishRaw(file, { size: 2, digest: { algorithm: "sha256", hex } }));
      }
      expect(names).toEqual(["output0.txt", "output2.txt", "output3.txt"]);
      expect((await readAll(storage, "output2.txt")).toString()).toBe("r1");
    });

    it("resumes an interrupted upload from a whole-chunk offset with the chunk digests, from another view too", async () => {
      const chunkSize = MiB;
      const bytes = randomBytes(20 * MiB + 3);
      const header = { name: "big.bin", size: bytes.length, chunkSize };
      const first = await storage.openResumable("key-1", header);
      expect(first.offset).toBe(0);
      await first.file.startAt(0);
      const sent = 17 * MiB + 1000;
      await send(first.file, bytes.subarray(0, sent));
      await first.file.suspend();

      const other = await fixture.open();
      try {
        const second = await other.openResumable("key-1", header);
        expect(second.offset).toBeGreaterThan(0);
        expect(second.offset).toBeLessThanOrEqual(sent);
        expect(second.offset % chunkSize).toBe(0);
        const expected = [];
        for (let at = 0; at < second.offset; at += chunkSize) expected.push(sha(bytes.subarray(at, at + chunkSize)));
        expect(second.file.chunks).toEqual(expected);
        await second.file.startAt(second.offset);
        const sha256 = await fill(second.file, bytes.subarray(second.offset));
        expect(sha256).toBe(sha(bytes));
        expect(await other.publish(second.file, "big.bin", "fail", { size: bytes.length, digest: { algorithm: "sha256", hex: sha256 } })).toEqual({ name: "big.bin", outcome: "created" });
        await second.file.release();
        expect(sha(await readAll(storage, "big.bin"))).toBe(sha(bytes));
        // Published: the session is gone; the same key starts from nothing.
        const third = await storage.openResumable("key-1", header);
        expect(third.offset).toBe(0);
        await third.file.discard();
      } finally {
        await other.close();
      }
    });

    it("holds a resumable upload for one connection at a time (IN_PROGRESS), and lets it go", async () => {
      const header = { name: "h.bin", size: 10, chunkSize: 4 };
      const held = await storage.openResumable("key-h", header);
      expect(await codeOf(storage.openResumable("key-h", header))).toBe("IN_PROGRESS");
      const other = await fixture.open();
      try {
        if (options.viewsShareState) expect(await codeOf(other.openResumable("key-h", header))).toBe("IN_PROGRESS");
        await held.file.suspend();
        const again = await other.openResumable("key-h", header);
        await again.file.discard();
      } finally {
        await other.close();
      }
    });

    it("starts over at 0, and a different header replaces the partial", async () => {
      const bytes = randomBytes(12 * MiB);
      const header = { name: "s.bin", size: bytes.length, chunkSize: MiB };
      const first = await storage.openResumable("key-s", header);
      await first.file.startAt(0);
      await send(first.file, bytes.subarray(0, 10 * MiB));
      await first.file.suspend();
      const second = await storage.openResumable("key-s", header);
      await second.file.startAt(0);
      const sha256 = await fill(second.file, bytes);
      expect(sha256).toBe(sha(bytes));
      await second.file.discard();
      const changed = await storage.openResumable("key-s", { ...header, size: header.size + 1 });
      expect(changed.offset).toBe(0);
      expect(changed.file.chunks).toEqual([]);
      await changed.file.discard();
    });

    it("sweeps a partial nobody resumes", async () => {
      const bytes = randomBytes(10 * MiB);
      const header = { name: "w.bin", size: bytes.length + MiB, chunkSize: MiB };
      const first = await storage.openResumable("key-w", header);
      await first.file.startAt(0);
      await send(first.file, bytes);
      await first.file.suspend();
      expect(await storage.sweepPartials(0)).toBeGreaterThanOrEqual(1);
      const again = await storage.openResumable("key-w", header);
      expect(again.offset).toBe(0);
      await again.file.discard();
    });

    it("reserves quota: uploads in flight count, a settled failure frees, a stored file stays counted", async () => {
      await store(storage, "q/old.bin", randomBytes(100));
      const folder = await storage.folder("q");
      const quota = await folder.quota(1000);
      expect(quota.limit).toBe(1000);
      const settle = await quota.reserve(800);
      expect(await codeOf(quota.reserve(101))).toBe("QUOTA_EXCEEDED");
      settle(false);
      await expect.poll(() => codeOf(quota.reserve(900))).toBe("no error");
    });

    it.runIf(options.viewsShareState)("shares a quota between servers: parallel reservations never pass it", async () => {
      const other = await fixture.open();
      try {
        const quotas = [await (await storage.folder("u")).quota(10_000), await (await other.folder("u")).quota(10_000)];
        const attempts = await Promise.allSettled(Array.from({ length: 20 }, (_, at) => quotas[at % 2]!.reserve(1_000)));
        expect(attempts.filter((a) => a.status === "fulfilled")).toHaveLength(10);
        for (const a of attempts) if (a.status === "rejected") expect((a.reason as ServerError).code).toBe("QUOTA_EXCEEDED");
      } finally {
        await other.close();
      }
    });

    it("stores exactly one file when two servers publish one name at once under fail, and both under rename", async () => {
      const other = await fixture.open();
      try {
        const results = await Promise.allSettled([store(storage, "race.txt", Buffer.from("A"), "fail"), store(other, "race.txt", Buffer.from("B"), "fail")]);
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
        expect((refused.reason as ServerError).code).toBe("ALREADY_EXISTS");
        const renamed = await Promise.all([store(storage, "race2.txt", Buffer.from("A")), store(other, "race2.txt", Buffer.from("B"))]);
        expect(new Set(renamed.map((r) => r.name)).size).toBe(2);
        expect((await storage.list()).map((e) => e.name)).toEqual(["race.txt", "race2 (1).txt", "race2.txt"]);
      } finally {
        await other.close();
      }
    });

    it("gives a user's folder its own view: its names are relative, the root sees them under the folder", async () => {
      const alice = await storage.folder("alice");
      expect(await storage.folder("alice")).toBe(alice);
      await store(alice, "note.txt", Buffer.from("hi"));
      await store(storage, "root.txt", Buffer.from("r"));
      expect((await alice.list()).map((e) => e.name)).toEqual(["note.txt"]);
      expect((await storage.list()).map((e) => e.name)).toEqual(["alice/note.txt", "root.txt"]);
      expect((await readAll(storage, "alice/note.txt")).toString()).toBe("hi");
      expect((await storage.list()).find((e) => e.name === "alice/note.txt")?.sha256).toBe(sha(Buffer.from("hi")));
    });
  });
}
