import { chmod, mkdir, symlink } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ServerError } from "./errors.js";
import { numberedName } from "@ferry/protocol";
import { StorageRoot } from "./storage-root.js";
import { tempDir } from "./testing/fixtures.js";

let base: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  base = await tempDir();
});
afterEach(async () => {
  await base.cleanup();
});

async function openError(dir: string): Promise<ServerError> {
  const error = await StorageRoot.open(dir, { fsync: false }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ServerError);
  return error as ServerError;
}

describe("StorageRoot.open", () => {
  it("creates a missing directory", async () => {
    const root = await StorageRoot.open(path.join(base.dir, "new", "store"), { fsync: true });
    expect(root.dir).toBe(path.join(base.dir, "new", "store"));
  });

  it("refuses a root that is a symbolic link", async () => {
    await mkdir(path.join(base.dir, "real"));
    await symlink(path.join(base.dir, "real"), path.join(base.dir, "link"));
    expect((await openError(path.join(base.dir, "link"))).code).toBe("STORAGE_UNUSABLE");
  });

  it("refuses a root writable by other users", async () => {
    const open = path.join(base.dir, "open");
    await mkdir(open);
    await chmod(open, 0o777);
    expect((await openError(open)).code).toBe("STORAGE_UNUSABLE");
  });
});

describe("numberedName", () => {
  it.each([
    ["a.txt", 1, "a (1).txt"],
    ["archive.tar.gz", 2, "archive.tar (2).gz"],
    [".bashrc", 1, ".bashrc (1)"],
    ["noext", 3, "noext (3)"],
  ])("%s #%i → %s", (name, n, expected) => {
    expect(numberedName(name, n)).toBe(expected);
  });

  it("shortens the stem so the result stays within 255 bytes", () => {
    const result = numberedName(`${"é".repeat(126)}.txt`, 12);
    expect(Buffer.byteLength(result, "utf8")).toBeLessThanOrEqual(255);
    expect(result.endsWith(" (12).txt")).toBe(true);
  });
});
