import { linkSync, lstatSync, renameSync, unlinkSync } from "node:fs";
import { assertNever, numberedPath, type ConflictPolicy, type PublishOutcome } from "@ferry/protocol";

// Give up on finding a free "name (N)" after this many tries rather than loop for ever.
const MAX_NAME_ATTEMPTS = 10_000;

/** A finished temp file and the real paths its candidate names map to. */
export interface PublishTarget {
  /** The verified temp file to publish (removed afterwards, whatever happened). */
  tempPath: string;
  /** The real path for a candidate name; throws if the name may not be used. */
  resolve(name: string): string;
}

/**
 * What publishing did; or "exists": policy "fail" and the name was taken; or "not-a-file": policy
 * "overwrite" found a symlink, folder or other non-file there, which is never replaced. The caller
 * says so in its own error.
 */
export type PublishResult = { name: string; outcome: PublishOutcome } | "exists" | "not-a-file";

/**
 * Gives a verified temp file its name under `policy`, the same rules on both sides (protocol.md §6):
 * link(2) never replaces anything, so a name taken meanwhile is never clobbered; "rename" tries
 * `name (1).ext`, `name (2).ext`…; "overwrite" replaces a regular file with rename(2), atomically
 * (never a symlink or anything else); "skip" keeps
 * the existing file. Synchronous (docs/performance.md, "Synchronous metadata calls"). Errors
 * other than a taken name are thrown as they come, for the caller to wrap.
 */
export function publishWithPolicy(target: PublishTarget, name: string, policy: ConflictPolicy): PublishResult {
  try {
    if (tryLink(target, name)) return { name, outcome: "created" };
    switch (policy) {
      case "rename":
        return { name: linkFirstFree(target, (n) => numberedPath(name, n + 1)), outcome: "renamed" };
      case "overwrite": {
        // rename(2) would replace a planted symlink (not its target) or fail on a folder: only a
        // regular file is ever overwritten.
        const existing = lstatSync(target.resolve(name), { throwIfNoEntry: false });
        if (!existing) return tryLink(target, name) ? { name, outcome: "created" } : "not-a-file"; // gone meanwhile
        if (!existing.isFile()) return "not-a-file";
        renameSync(target.tempPath, target.resolve(name));
        return { name, outcome: "overwritten" };
      }
      case "skip":
        return { name, outcome: "skipped" };
      case "fail":
        return "exists";
      default:
        return assertNever(policy);
    }
  } finally {
    try {
      unlinkSync(target.tempPath);
    } catch {
      // gone already after a rename
    }
  }
}

/**
 * Links the temp file under the first free `candidate(0)`, `candidate(1)`…; throws when none of
 * the first 10,000 is free. The temp file stays (the caller removes it).
 */
export function linkFirstFree(target: PublishTarget, candidate: (attempt: number) => string): string {
  for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt++) {
    const name = candidate(attempt);
    if (tryLink(target, name)) return name;
  }
  throw new Error(`no free name after ${MAX_NAME_ATTEMPTS} tries`);
}

/** link(2): true when published, false when the name is taken. */
function tryLink(target: PublishTarget, name: string): boolean {
  try {
    linkSync(target.tempPath, target.resolve(name));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}
