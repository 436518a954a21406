import { linkSync, renameSync, unlinkSync } from "node:fs";
import path from "node:path";
import { assertNever, numberedName, type ConflictPolicy } from "@ferry/protocol";
import { ClientError } from "./errors.js";

export type LocalOutcome = "created" | "renamed" | "overwritten" | "skipped";

/**
 * Moves a verified download from its temp file to `dir/name` under `policy`, the same rules the
 * server applies to uploads: link(2) never replaces anything, rename(2) replaces atomically.
 * Synchronous, like the server's publishing: metadata calls of a few µs each, where a thread-pool
 * round trip per call cost ~70 µs per file of a folder download.
 */
export function publishLocal(tempPath: string, dir: string, name: string, policy: ConflictPolicy): { name: string; outcome: LocalOutcome } {
  const tryLink = (candidate: string): boolean => {
    try {
      linkSync(tempPath, path.join(dir, candidate));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw new ClientError(`cannot write ${candidate}: ${(error as Error).message}`, { code: "LOCAL_FILE_ERROR", cause: error });
    }
  };
  try {
    if (tryLink(name)) return { name, outcome: "created" };
    switch (policy) {
      case "overwrite":
        renameSync(tempPath, path.join(dir, name));
        return { name, outcome: "overwritten" };
      case "skip":
        return { name, outcome: "skipped" };
      case "fail":
        throw new ClientError(`${path.join(dir, name)} already exists (use --on-conflict to choose)`, { code: "ALREADY_EXISTS" });
      case "rename":
        for (let n = 1; n < 10_000; n++) {
          const candidate = numberedName(name, n);
          if (tryLink(candidate)) return { name: candidate, outcome: "renamed" };
        }
        throw new ClientError(`no free name for ${name}`, { code: "LOCAL_FILE_ERROR" });
      default:
        return assertNever(policy);
    }
  } finally {
    try {
      unlinkSync(tempPath);
    } catch {
      // gone already after a rename
    }
  }
}
