import { appendFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ChunkJournal } from "./chunk-journal.js";
import { useTempDir } from "./testing/temp-dir.js";

const dir = useTempDir();
const header = { name: "f.bin", chunkSize: 4 };

describe("ChunkJournal", () => {
  it("reads nothing when there is no journal", () => {
    expect(new ChunkJournal(path.join(dir.path, ".ferry-part-x")).read()).toBeNull();
  });

  it("writes a header and chunk lines, and reads them back", async () => {
    const journal = new ChunkJournal<typeof header>(path.join(dir.path, ".ferry-part-x"));
    await journal.rewrite(header, 2);
    await journal.append(3);
    expect(await readFile(journal.path, "utf8")).toBe('{"name":"f.bin","chunkSize":4}\n{"chunk":1}\n{"chunk":2}\n{"chunk":3}\n');
    expect(journal.read()).toEqual({ header, chunks: 3 });
  });

  it("does not count a torn last line (a crash mid-append)", async () => {
    const journal = new ChunkJournal<typeof header>(path.join(dir.path, ".ferry-part-x"));
    await journal.rewrite(header, 1);
    await appendFile(journal.path, '{"chu');
    expect(journal.read()).toEqual({ header, chunks: 1 });
  });

  it("treats a torn header as no journal, and removes quietly", async () => {
    const journal = new ChunkJournal(path.join(dir.path, ".ferry-part-x"));
    await writeFile(journal.path, '{"name":"f.b');
    expect(journal.read()).toBeNull();
    await journal.remove();
    await journal.remove(); // already gone: fine
    expect(journal.read()).toBeNull();
  });
});
