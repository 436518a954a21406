import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { INDEX_FILE, StorageIndex } from "./storage-index.js";
import { tempDir } from "./testing/fixtures.js";

let base: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => void (base = await tempDir()));
afterEach(() => base.cleanup());

const entry = (n: number) => ({ size: n, mtime: 1_700_000_000_000 + n, digest: { algorithm: n % 2 ? ("blake3" as const) : ("sha256" as const), hex: n.toString(16).padStart(64, "0") } });

it("stays bounded under put/delete churn while running, and replays to the same state", async () => {
  const index = await StorageIndex.load(base.dir);
  index.record("kept.txt", entry(1));
  for (let cycle = 0; cycle < 3_000; cycle++) {
    index.record("churn.bin", entry(cycle));
    index.forget("churn.bin");
    // Let the queued appends (and any compaction) run, as a server's event loop would between uploads.
    if (cycle % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  index.record("churn.bin", entry(7));
  await index.close();
  // 6,002 lines were appended; without compaction the log holds them all (~600 KB).
  const { size } = await stat(path.join(base.dir, INDEX_FILE));
  expect(size).toBeLessThan(300 * 1024);
  expect((await readFile(path.join(base.dir, INDEX_FILE), "utf8")).split("\n").length).toBeLessThan(2_100);
  const again = await StorageIndex.load(base.dir);
  expect(again.lookup("kept.txt", 1, entry(1).mtime)).toEqual(entry(1).digest);
  expect(again.lookup("churn.bin", 7, entry(7).mtime)).toEqual(entry(7).digest);
  await again.close();
});

it("reads the log's lines by their digest's key: sha256 (every earlier index) and blake3", async () => {
  const sha = "ab".repeat(32);
  const b3 = "cd".repeat(32);
  await writeFile(
    path.join(base.dir, INDEX_FILE),
    `${JSON.stringify({ name: "old.txt", size: 3, mtime: 10, sha256: sha })}\n${JSON.stringify({ name: "new.bin", size: 4, mtime: 11, blake3: b3 })}\n`,
  );
  const index = await StorageIndex.load(base.dir);
  expect(index.lookup("old.txt", 3, 10)).toEqual({ algorithm: "sha256", hex: sha });
  expect(index.lookup("new.bin", 4, 11)).toEqual({ algorithm: "blake3", hex: b3 });
  expect(index.lookup("new.bin", 4, 12)).toBeNull(); // changed behind the server's back
  await index.close();
});

// Shared (ferry-server --workers N): each process appends at once and reads the others' lines.
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

it("shared: a line one process appends is found by another in its next turn, deletions too", async () => {
  const a = await StorageIndex.load(base.dir, { shared: true });
  const b = await StorageIndex.load(base.dir, { shared: true });
  a.record("x.bin", entry(4));
  await nextTurn();
  expect(b.lookup("x.bin", 4, entry(4).mtime)).toEqual(entry(4).digest);
  a.forget("x.bin");
  await nextTurn();
  expect(b.lookup("x.bin", 4, entry(4).mtime)).toBeNull();
  await a.close();
  await b.close();
});

it("shared: a line still being written is taken only once its end has arrived", async () => {
  const reader = await StorageIndex.load(base.dir, { shared: true });
  const line = `${JSON.stringify({ name: "é.bin", size: 2, mtime: entry(2).mtime, sha256: entry(2).digest.hex })}\n`;
  const bytes = Buffer.from(line);
  // Cut inside the two-byte "é": the first half is not yet a line, nor valid UTF-8.
  const cut = bytes.indexOf(0xa9);
  await writeFile(path.join(base.dir, INDEX_FILE), bytes.subarray(0, cut), { flag: "a" });
  await nextTurn();
  expect(reader.lookup("é.bin", 2, entry(2).mtime)).toBeNull();
  await writeFile(path.join(base.dir, INDEX_FILE), bytes.subarray(cut), { flag: "a" });
  await nextTurn();
  expect(reader.lookup("é.bin", 2, entry(2).mtime)).toEqual(entry(2).digest);
  await reader.close();
});

it("shared: the log is neither compacted nor rewritten by a worker, only appended to", async () => {
  const worker = await StorageIndex.load(base.dir, { shared: true });
  for (let cycle = 0; cycle < 1_500; cycle++) {
    worker.record("churn.bin", entry(cycle));
    worker.forget("churn.bin");
  }
  await worker.close();
  expect((await readFile(path.join(base.dir, INDEX_FILE), "utf8")).split("\n").length).toBe(3_001);
  // The primary's load compacts it.
  const primary = await StorageIndex.load(base.dir);
  await primary.close();
  expect(await readFile(path.join(base.dir, INDEX_FILE), "utf8")).toBe("");
});
