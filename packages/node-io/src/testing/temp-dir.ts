import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach } from "vitest";

/** A fresh temp dir per test (removed after it); read `dir.path` inside a test. */
export function useTempDir(): { path: string } {
  const dir = { path: "" };
  beforeEach(async () => {
    dir.path = await mkdtemp(path.join(tmpdir(), "ferry-node-io-"));
  });
  afterEach(() => rm(dir.path, { recursive: true, force: true }));
  return dir;
}
