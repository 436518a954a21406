import { chmod, mkdir, rename, symlink } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ServerError } from "./errors.js";
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

describe("StorageRoot.checkName", () => {
  it("keeps every accepted name inside the root, and refuses a top-level name starting with '..'", async () => {
    const root = await StorageRoot.open(path.join(base.dir, "store"), { fsync: false });
    for (const name of ["a", ".x", "a/..b", "a/b/c.txt", "x..y"]) expect(() => root.checkName(name)).not.toThrow();
    for (const name of ["..foo", "../a", "a/../../b", "", "/etc/passwd"]) {
      let code: string | undefined;
      try {
        root.checkName(name);
      } catch (error) {
        code = (error as ServerError).code;
      }
      expect(code, name).toBe("BAD_NAME");
    }
  });
});

describe("StorageRoot.publish with skipIdentical", () => {
  async function store(root: StorageRoot, name: string, bytes: Buffer) {
    const file = await root.createIncoming(bytes.length);
    file.write(bytes);
    const hex = await file.finish(false);
    try {
      return await root.publish(file, name, "overwrite", { size: bytes.length, digest: { algorithm: "sha256", hex } }, true);
    } catch (error) {
      await file.discard();
      throw error;
    }
  }

  it("never takes a file reached through a folder that became a symbolic link for identical", async () => {
    const root = await StorageRoot.open(path.join(base.dir, "store"), { fsync: false });
    const bytes = Buffer.from("the same bytes");
    expect(await store(root, "d/x.txt", bytes)).toEqual({ name: "d/x.txt", outcome: "created" });
    expect(await store(root, "d/x.txt", bytes)).toEqual({ name: "d/x.txt", outcome: "unchanged" });
    // The same file, its recorded size and mtime, but now behind a link: not compared, and not written through.
    await rename(path.join(root.dir, "d"), path.join(root.dir, "real"));
    await symlink(path.join(root.dir, "real"), path.join(root.dir, "d"));
    const error = await store(root, "d/x.txt", bytes).then(
      () => undefined,
      (e: unknown) => e as ServerError,
    );
    expect(error?.code).toBe("BAD_NAME");
  });
});
