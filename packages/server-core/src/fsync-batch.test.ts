import { closeSync, openSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsyncBatch } from "./fsync-batch.js";
import { tempDir } from "./testing/fixtures.js";

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir("ferry-fsync-batch-");
});
afterEach(() => dir.cleanup());

describe("FsyncBatch", () => {
  // Regression guard for the small-file path: syncs asked for in one turn leave together.
  it("issues every sync requested in one turn as one batch", async () => {
    const batch = new FsyncBatch();
    const fds = Array.from({ length: 50 }, (_, i) => openSync(path.join(dir.dir, `f${i}`), "wx"));
    try {
      await Promise.all(fds.map((fd) => batch.sync(fd)));
      expect(batch.batches).toBe(1);
      await batch.sync(fds[0]!);
      expect(batch.batches).toBe(2);
    } finally {
      fds.forEach((fd) => closeSync(fd));
    }
  });

  it("rejects only the sync that failed", async () => {
    const batch = new FsyncBatch();
    const fd = openSync(path.join(dir.dir, "good"), "wx");
    const closed = 1_000_000; // far above any descriptor this process holds
    try {
      const [bad, good, invalid] = await Promise.allSettled([batch.sync(closed), batch.sync(fd), batch.sync(-1)]);
      expect(good.status).toBe("fulfilled");
      expect(bad.status === "rejected" && (bad.reason as NodeJS.ErrnoException).code).toBe("EBADF");
      expect(invalid.status === "rejected" && (invalid.reason as NodeJS.ErrnoException).code).toBe("ERR_OUT_OF_RANGE");
    } finally {
      closeSync(fd);
    }
  });
});
