import { createHash } from "node:crypto";
import { closeSync, openSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { digestOf } from "./digest.js";
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
    const states = await Promise.all([0, 1, 2, 3].map(async (k) => (await prefix.hasherAt(k)).digest("hex")));
    expect(states).toEqual([sha(""), sha("aaaa"), sha("aaaabbbb"), sha("aaaabbbbcc")]);
    await expect(prefix.hasherAt(4)).rejects.toThrow(RangeError);
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
    expect((await prefix.hasherAt(1)).digest("hex")).toBe(sha("aaaa"));
  });

  it("reads no further than `end` or the expected list", async () => {
    const prefix = await digestPrefix(fileWith("aaaabbbbcccc"), { chunkSize: 4, end: 6, expected: [sha("aaaa"), sha("bb"), sha("cccc")] });
    expect(prefix.bytes).toBe(6);
    expect((await digestPrefix(fileWith("aaaabbbb"), { chunkSize: 4, end: 8, expected: [] })).bytes).toBe(0);
  });

  describe("with BLAKE3, whose hasher cannot be copied", () => {
    const b3 = (text: string): string => digestOf("blake3", Buffer.from(text));

    it("digests chunks with BLAKE3 and hands out the state at 0, at the end, and (read again) anywhere between", async () => {
      const prefix = await digestPrefix(fileWith("aaaabbbbcc"), { chunkSize: 4, end: 10, algorithm: "blake3" });
      expect(prefix.digests).toEqual([b3("aaaa"), b3("bbbb"), b3("cc")]);
      expect((await prefix.hasherAt(3)).digest("hex")).toBe(b3("aaaabbbbcc"));
      // The running hasher was handed out: a second ask for the end reads the prefix again.
      expect((await prefix.hasherAt(3)).digest("hex")).toBe(b3("aaaabbbbcc"));
      expect((await prefix.hasherAt(1)).digest("hex")).toBe(b3("aaaa"));
      expect((await prefix.hasherAt(0)).digest("hex")).toBe(b3(""));
    });

    it("continues from the last matching chunk, not from the one that differed", async () => {
      const prefix = await digestPrefix(fileWith("aaaabbbbcccc"), { chunkSize: 4, end: 12, expected: [b3("aaaa"), b3("bbbb"), b3("XXXX")], algorithm: "blake3" });
      expect(prefix.bytes).toBe(8);
      const hasher = await prefix.hasherAt(2);
      hasher.update(Buffer.from("cccc"));
      expect(hasher.digest("hex")).toBe(b3("aaaabbbbcccc"));
    });

    it("gives the known BLAKE3 of the empty string and of abc", () => {
      expect(b3("")).toBe("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
      expect(b3("abc")).toBe("6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
    });
  });
});
