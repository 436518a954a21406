import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { linkFirstFree, publishWithPolicy } from "./publish-policy.js";
import { useTempDir } from "./testing/temp-dir.js";

const dir = useTempDir();

function setUp(existing: string[]): { tempPath: string; resolve: (name: string) => string } {
  for (const name of existing) writeFileSync(path.join(dir.path, name), `old ${name}`);
  const tempPath = path.join(dir.path, ".ferry-tmp-1");
  writeFileSync(tempPath, "new");
  return { tempPath, resolve: (name) => path.join(dir.path, name) };
}
const read = (name: string): string => readFileSync(path.join(dir.path, name), "utf8");

describe("publishWithPolicy", () => {
  it("creates a free name under every policy", () => {
    for (const policy of ["rename", "overwrite", "skip", "fail"] as const) {
      const target = setUp([]);
      expect(publishWithPolicy(target, `${policy}.txt`, policy)).toEqual({ name: `${policy}.txt`, outcome: "created" });
      expect(read(`${policy}.txt`)).toBe("new");
      expect(existsSync(target.tempPath)).toBe(false);
    }
  });

  it("rename takes the first free numbered name and never clobbers", () => {
    const target = setUp(["a.txt", "a (1).txt"]);
    expect(publishWithPolicy(target, "a.txt", "rename")).toEqual({ name: "a (2).txt", outcome: "renamed" });
    expect([read("a.txt"), read("a (1).txt"), read("a (2).txt")]).toEqual(["old a.txt", "old a (1).txt", "new"]);
  });

  it("overwrite replaces, skip keeps the old file, fail says the name exists; the temp file always goes", () => {
    const target = setUp(["o.txt"]);
    expect(publishWithPolicy(target, "o.txt", "overwrite")).toEqual({ name: "o.txt", outcome: "overwritten" });
    expect(read("o.txt")).toBe("new");
    const skipping = setUp(["s.txt"]);
    expect(publishWithPolicy(skipping, "s.txt", "skip")).toEqual({ name: "s.txt", outcome: "skipped" });
    expect(read("s.txt")).toBe("old s.txt");
    const failing = setUp(["f.txt"]);
    expect(publishWithPolicy(failing, "f.txt", "fail")).toBe("exists");
    expect(read("f.txt")).toBe("old f.txt");
    expect(readdirSync(dir.path).filter((name) => name.startsWith(".ferry-tmp"))).toEqual([]);
  });

  it("throws errors other than a taken name as they come", () => {
    const target = { tempPath: path.join(dir.path, "missing"), resolve: (name: string) => path.join(dir.path, name) };
    expect(() => publishWithPolicy(target, "x.txt", "rename")).toThrow(/ENOENT/);
  });

  it("overwrite never replaces a symlink (nor its target) or a folder", () => {
    writeFileSync(path.join(dir.path, "secret.txt"), "secret");
    symlinkSync(path.join(dir.path, "secret.txt"), path.join(dir.path, "planted-link"));
    mkdirSync(path.join(dir.path, "folder"));
    for (const name of ["planted-link", "folder"]) {
      const target = setUp([]);
      expect(publishWithPolicy(target, name, "overwrite")).toBe("not-a-file");
      expect(existsSync(target.tempPath)).toBe(false);
    }
    expect(lstatSync(path.join(dir.path, "planted-link")).isSymbolicLink()).toBe(true);
    expect(read("secret.txt")).toBe("secret");
  });
});

describe("linkFirstFree", () => {
  it("links under the first free candidate and leaves the temp file", () => {
    const target = setUp(["output0.txt"]);
    expect(linkFirstFree(target, (n) => `output${n}.txt`)).toBe("output1.txt");
    expect(existsSync(target.tempPath)).toBe(true);
  });
});
