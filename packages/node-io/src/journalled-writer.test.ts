import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ChunkJournal } from "./chunk-journal.js";
import { JournalledWriter } from "./journalled-writer.js";
import { useTempDir } from "./testing/temp-dir.js";

const dir = useTempDir();
const sha = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

async function writeAll(copy: boolean, pieces: Buffer[], chunkSize: number | null): Promise<{ data: Buffer; journal: string | null; digest: string }> {
  const file = path.join(dir.path, ".ferry-part-k");
  const fd = openSync(file, "w+");
  const journal = new ChunkJournal<{ chunkSize: number }>(file);
  const size = pieces.reduce((sum, p) => sum + p.length, 0);
  if (chunkSize !== null) await journal.rewrite({ chunkSize }, 0);
  const writer = new JournalledWriter({
    fd,
    size,
    offset: 0,
    hash: createHash("sha256"),
    journal: chunkSize === null ? null : { chunkSize, file: journal },
    copy,
  });
  for (const piece of pieces) {
    const reused = copy ? Buffer.from(piece) : piece;
    if (!writer.write(reused)) await writer.drained();
    if (copy) reused.fill(0xee); // the caller reuses its buffer at once: the writer must have copied
  }
  await writer.settle();
  expect(writer.error).toBeUndefined();
  closeSync(fd);
  return { data: readFileSync(file), journal: journal.read() && readFileSync(journal.path, "utf8"), digest: writer.digest() };
}

const body = Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 77 }, (_, i) => (i * 7) % 251));
const pieces = (size: number): Buffer[] => Array.from({ length: Math.ceil(body.length / size) }, (_, i) => body.subarray(i * size, (i + 1) * size));

describe("JournalledWriter", () => {
  for (const copy of [false, true]) {
    it(`writes every byte in order, hashes them and journals each chunk (copy: ${copy})`, async () => {
      const result = await writeAll(copy, pieces(65_536 + 3), 1024 * 1024);
      expect(result.data.equals(body)).toBe(true);
      expect(result.digest).toBe(sha(body));
      expect(result.journal).toBe('{"chunkSize":1048576}\n{"chunk":1}\n{"chunk":2}\n{"chunk":3}\n{"chunk":4}\n');
    });
  }

  it("copies tiny pieces together instead of queueing each one (a peer sending 1-byte frames)", async () => {
    const part = body.subarray(0, 200 * 1024 + 5);
    const tiny = Array.from({ length: Math.ceil(part.length / 7) }, (_, i) => part.subarray(i * 7, (i + 1) * 7));
    const result = await writeAll(false, tiny, 64 * 1024);
    expect(result.data.equals(part)).toBe(true);
    expect(result.digest).toBe(sha(part));
    expect(result.journal?.trim().split("\n")).toHaveLength(1 + 4);
  });

  it("writes what arrives without waiting for settle(): bytes wait in memory only while a write is in flight", async () => {
    const file = path.join(dir.path, "eager");
    const fd = openSync(file, "w+");
    const writer = new JournalledWriter({ fd, size: 3 * 1024 * 1024, offset: 0, hash: createHash("sha256"), journal: null, copy: false });
    for (let sent = 0; sent < 2 * 1024 * 1024 + 1000; ) {
      const piece = body.subarray(sent, Math.min(sent + 65_536, 2 * 1024 * 1024 + 1000));
      writer.write(piece);
      sent += piece.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
    // No settle(): the tail (1,000 bytes, staged) must still reach the file once the disk is free.
    while (fstatSync(fd).size < 2 * 1024 * 1024 + 1000) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(readFileSync(file).equals(body.subarray(0, 2 * 1024 * 1024 + 1000))).toBe(true);
    await writer.settle();
    closeSync(fd);
  });

  it("keeps no journal when told so, and still writes everything", async () => {
    const small = await writeAll(true, [body.subarray(0, 4096)], null);
    expect(small.data.equals(body.subarray(0, 4096))).toBe(true);
    expect(small.journal).toBeNull();
  });

  it("continues at an offset with the hash of what came before", async () => {
    const file = path.join(dir.path, "resumed");
    const fd = openSync(file, "w+");
    const hash = createHash("sha256").update(body.subarray(0, 1024));
    const writer = new JournalledWriter({ fd, size: 2048, offset: 1024, hash, journal: null, copy: false });
    writer.write(body.subarray(1024, 2048));
    await writer.settle();
    closeSync(fd);
    expect(writer.bytes).toBe(2048);
    expect(writer.digest()).toBe(sha(body.subarray(0, 2048)));
    expect(readFileSync(file).subarray(1024).equals(body.subarray(1024, 2048))).toBe(true);
  });

  it("reports a write error instead of throwing from write()", async () => {
    const file = path.join(dir.path, "read-only");
    closeSync(openSync(file, "w"));
    const fd = openSync(file, "r"); // writes fail with EBADF
    const writer = new JournalledWriter({ fd, size: 10, offset: 0, hash: createHash("sha256"), journal: null, copy: true });
    writer.write(Buffer.alloc(10));
    await writer.settle();
    closeSync(fd);
    expect((writer.error as NodeJS.ErrnoException | undefined)?.code).toBe("EBADF");
  });
});
