import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DOWNLOAD_CHUNK, LocalPartial } from "./local-partial.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-partial-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function receive(size: number, piece = 64 * 1024): Promise<{ partial: LocalPartial; filesDuring: string[] }> {
  const partial = await LocalPartial.open(dir, "a".repeat(40), "f.bin", false);
  partial.startAt(0, size);
  const bytes = Buffer.alloc(piece, 7);
  for (let sent = 0; sent < size; sent += piece) partial.write(bytes.subarray(0, Math.min(piece, size - sent)));
  await partial.finish(true);
  return { partial, filesDuring: (await readdir(dir)).sort() };
}

describe("LocalPartial", () => {
  // Regression guard for folders of small files: each used to write, sync and delete a journal.
  it("writes a file of one chunk or less without a journal", async () => {
    const { partial, filesDuring } = await receive(4096);
    expect(filesDuring).toEqual([path.basename(partial.path)]);
    expect((await readFile(partial.path)).length).toBe(4096);
    await partial.remove();
    expect(await readdir(dir)).toEqual([]);
  });

  it("journals every chunk of a larger file, so it can resume", async () => {
    const { partial, filesDuring } = await receive(DOWNLOAD_CHUNK + 4096, 1024 * 1024);
    expect(filesDuring).toEqual([path.basename(partial.path), `${path.basename(partial.path)}.journal`]);
    const journal = (await readFile(`${partial.path}.journal`, "utf8")).trim().split("\n");
    expect(journal.slice(1)).toEqual(['{"chunk":1}', '{"chunk":2}']);
    await partial.remove();
    expect(await readdir(dir)).toEqual([]);
  });

  it("journals a file over 4 GiB in larger chunks, so 512 digests still cover it, and resumes in them", async () => {
    const size = 5 * 1024 * 1024 * 1024;
    const first = await LocalPartial.open(dir, "b".repeat(40), "huge.bin", false);
    first.startAt(0, size); // nothing written: only the journal's header
    await first.suspend();
    expect(first.chunkSize).toBe(10 * 1024 * 1024);
    expect(JSON.parse((await readFile(`${first.path}.journal`, "utf8")).split("\n")[0]!)).toEqual({ name: "huge.bin", chunkSize: 10 * 1024 * 1024 });
    const again = await LocalPartial.open(dir, "b".repeat(40), "huge.bin", false);
    expect(again.chunkSize).toBe(10 * 1024 * 1024);
    await again.remove();
    expect(await readdir(dir)).toEqual([]);
  });
});
