import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LIMITS } from "@ferry/protocol";
import { readBatchFiles } from "./batch-files.js";
import { ClientError } from "./errors.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "ferry-batch-files-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Buffer | string): string {
  const localPath = path.join(dir, name);
  writeFileSync(localPath, bytes);
  return localPath;
}

const codeOf = (value: Buffer | ClientError) => (value instanceof ClientError ? value.code : "ok");

describe("readBatchFiles", () => {
  it("reads files of their listed sizes back to back, and joins them without a copy", () => {
    const sources = ["a", "bb", "", "dddd"].map((text, i) => ({ localPath: file(`f${i}`, text), size: text.length }));
    const read = readBatchFiles(sources);
    const parts = read.files as Buffer[];
    expect(parts.map(String)).toEqual(["a", "bb", "", "dddd"]);
    const joined = read.joined(parts);
    expect(String(joined)).toBe("abbdddd");
    expect(joined.buffer).toBe(parts[0]!.buffer); // a view of the one buffer read into
  });

  it("takes a file that shrank since it was listed as it is now", () => {
    const read = readBatchFiles([
      { localPath: file("shrank", "xy"), size: 5 },
      { localPath: file("next", "z"), size: 1 },
    ]);
    expect(read.files.map(String)).toEqual(["xy", "z"]);
    expect(String(read.joined(read.files as Buffer[]))).toBe("xyz");
  });

  it("reads a file that grew since it was listed whole, on its own, and joins by copying", () => {
    const read = readBatchFiles([
      { localPath: file("before", "1"), size: 1 },
      { localPath: file("grew", "grown"), size: 2 },
      { localPath: file("after", "2"), size: 1 },
    ]);
    expect(read.files.map(String)).toEqual(["1", "grown", "2"]);
    expect(String(read.joined(read.files as Buffer[]))).toBe("1grown2");
  });

  it("refuses a file that grew past the batch limit with SOURCE_CHANGED", () => {
    const read = readBatchFiles([{ localPath: file("big", Buffer.alloc(LIMITS.MAX_BATCH_FILE + 1)), size: 10 }]);
    expect(read.files.map(codeOf)).toEqual(["SOURCE_CHANGED"]);
  });

  it("reads a file listed without a size by its fstat", () => {
    const read = readBatchFiles([{ localPath: file("unlisted", "hello") }, { localPath: file("listed", "!"), size: 1 }]);
    expect(String(read.joined(read.files as Buffer[]))).toBe("hello!");
  });

  it("fails only the file that cannot be read, with LOCAL_FILE_ERROR, and keeps the rest in order", () => {
    mkdirSync(path.join(dir, "folder"));
    const read = readBatchFiles([
      { localPath: file("one", "1"), size: 1 },
      { localPath: path.join(dir, "missing"), size: 3 },
      { localPath: path.join(dir, "folder"), size: 0 },
      { localPath: path.join(dir, "folder") },
      { localPath: file("two", "2"), size: 1 },
    ]);
    expect(read.files.map(codeOf)).toEqual(["ok", "LOCAL_FILE_ERROR", "LOCAL_FILE_ERROR", "LOCAL_FILE_ERROR", "ok"]);
    const parts = read.files.filter((f): f is Buffer => !(f instanceof ClientError));
    expect(String(read.joined(parts))).toBe("12");
  });
});
