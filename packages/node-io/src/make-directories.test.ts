import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeDirectories } from "./make-directories.js";

describe("makeDirectories", () => {
  it("creates missing parents and accepts an existing folder", () => {
    const base = mkdtempSync(path.join(tmpdir(), "ferry-mkdirs-"));
    const deep = path.join(base, "a", "b", "c");
    makeDirectories(deep);
    makeDirectories(deep);
    expect(statSync(deep).isDirectory()).toBe(true);
  });

  it("fails at once where Node's recursive mkdir never returns (/proc) and under a file", () => {
    expect(() => makeDirectories("/proc/ferry-nope/x")).toThrow(/ENOENT/);
    const base = mkdtempSync(path.join(tmpdir(), "ferry-mkdirs-"));
    writeFileSync(path.join(base, "file"), "x");
    expect(() => makeDirectories(path.join(base, "file", "sub"))).toThrow(/ENOTDIR/);
  });
});
