import { readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LocalShareStore, SHARES_FILE } from "./local-share-store.js";
import { newShareSecret, shareKey, type ShareRecord } from "./share-links.js";
import { tempDir } from "./testing/fixtures.js";
import { ServerError } from "./errors.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const record = (): ShareRecord => ({
  key: shareKey(newShareSecret()),
  owner: null,
  kind: "download",
  paths: ["a"],
  createdAt: 1,
  expiresAt: Date.now() + 60_000,
  maxDownloads: 2,
  downloads: 0,
  password: null,
  maxBytes: null,
  maxFiles: null,
  uploadedBytes: 0,
  uploadedFiles: 0,
});

describe("LocalShareStore", () => {
  it("keeps links and counters across a restart, in one hidden file and no temp file left", async () => {
    const { dir } = await tempDir("ferry-shares-");
    dirs.push(dir);
    const first = await LocalShareStore.open(dir);
    const link = record();
    await first.create(link);
    expect(await first.countDownload(link.key, Date.now())).toBe(true);
    await first.close();
    const again = await LocalShareStore.open(dir);
    expect(await again.get(link.key)).toMatchObject({ downloads: 1 });
    expect(await readdir(dir)).toEqual([SHARES_FILE]);
  });

  it("refuses to start on a file it cannot read as links, with STORAGE_ERROR", async () => {
    const { dir } = await tempDir("ferry-shares-");
    dirs.push(dir);
    await writeFile(path.join(dir, SHARES_FILE), "{not json");
    await expect(LocalShareStore.open(dir)).rejects.toSatisfy((error) => error instanceof ServerError && error.code === "STORAGE_ERROR");
  });
});
