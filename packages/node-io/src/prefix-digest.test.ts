import { createHash } from "node:crypto";
import { closeSync, openSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { digestPrefix } from "./prefix-digest.js";
import { useTempDir } from "./testing/temp-dir.js";

const dir = useTempDir();
const sha = (bytes: Buffer | string): string => createHash("sha256").update(bytes).digest("hex");
let fd: number | undefined;
afterEach(() => {
  if (fd !== undefined) closeSync(fd);
  fd = undefined;
});

function fileWith(content: string): number {
  const file = path.join(dir.path, "f");
  writeFileSync(file, content);
  return (fd = openSync(file, "r"));
}

describe("digestPrefix", () => {
  it("digests each whole chunk and keeps the whole-file hash after each one", async () => {
    const prefix = await digestPrefix(fileWith("aaaabbbbcc"), { chunkSize: 4, end: 10 });
    expect(prefix.digests).toEqual([sha("aaaa"), sha("bbbb"), sha("cc")]);
    expect(prefix.bytes).toBe(10);
    expect(prefix.states.map((state) => state.copy().digest("hex"))).toEqual([sha(""), sha("aaaa"), sha("aaaabbbb"), sha("aaaabbbbcc")]);
  });

  it("stops at a chunk the file does not wholly hold, and at maxChunks", async () => {
    const short = await digestPrefix(fileWith("aaaabb"), { chunkSize: 4, end: 12 });
    expect(short.digests).toEqual([sha("aaaa")]);
    expect(short.bytes).toBe(4);
    const capped = await digestPrefix(fileWith("aaaabbbbcccc"), { chunkSize: 4, end: 12, maxChunks: 2 });
    expect(capped.bytes).toBe(8);
  });

  it("with expected digests, stops at the first that differs", async () => {
    const prefix = await digestPrefix(fileWith("aaaabbbbcccc"), { chunkSize: 4, end: 12, expected: [sha("aaaa"), sha("XXXX"), sha("cccc")] });
    expect(prefix.digests).toEqual([sha("aaaa")]);
    expect(prefix.bytes).toBe(4);
    expect(prefix.states.at(-1)!.digest("hex")).toBe(sha("aaaa"));
  });

  it("reads no further than `end` or the expected list", async () => {
    const prefix = await digestPrefix(fileWith("aaaabbbbcccc"), { chunkSize: 4, end: 6, expected: [sha("aaaa"), sha("bb"), sha("cccc")] });
    expect(prefix.bytes).toBe(6);
    expect((await digestPrefix(fileWith("aaaabbbb"), { chunkSize: 4, end: 8, expected: [] })).bytes).toBe(0);
  });
});
