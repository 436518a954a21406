import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DirectorySync } from "./directory-sync.js";
import { tempDir } from "./testing/fixtures.js";

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir("ferry-dirsync-");
});
afterEach(() => dir.cleanup());

describe("DirectorySync", () => {
  // Regression guard for the small-file path: it must not fall back to one directory fsync per file.
  it("serves 200 concurrent requests for one folder with at most two fsyncs", async () => {
    const syncs = new DirectorySync();
    await Promise.all(Array.from({ length: 200 }, () => syncs.sync(dir.dir)));
    expect(syncs.performed).toBeLessThanOrEqual(2);
    expect(syncs.performed).toBeGreaterThanOrEqual(1);
  });

  it("runs a fresh fsync for a request made after the previous one finished, so no entry is left unsynced", async () => {
    const syncs = new DirectorySync();
    await syncs.sync(dir.dir);
    await writeFile(path.join(dir.dir, "late.txt"), "x");
    await syncs.sync(dir.dir);
    expect(syncs.performed).toBe(2);
  });

  it("keeps folders apart and reports a folder that cannot be opened", async () => {
    const syncs = new DirectorySync();
    const sub = path.join(dir.dir, "sub");
    await mkdir(sub);
    await Promise.all([syncs.sync(dir.dir), syncs.sync(sub)]);
    expect(syncs.performed).toBe(2);
    await expect(syncs.sync(path.join(dir.dir, "missing"))).rejects.toThrow();
    // A failed sync does not wedge the folder's later requests.
    await expect(syncs.sync(dir.dir)).resolves.toBeUndefined();
  });
});
