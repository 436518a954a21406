import { link, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { numberedName, type ConflictPolicy } from "@ferry/protocol";
import { ClientError } from "./errors.js";

export type LocalOutcome = "created" | "renamed" | "overwritten" | "skipped";

/**
 * Moves a verified download from its temp file to `dir/name` under `policy`, the same rules the
 * server applies to uploads: link(2) never replaces anything, rename(2) replaces atomically.
 */
export async function publishLocal(
  tempPath: string,
  dir: string,
  name: string,
  policy: ConflictPolicy,
): Promise<{ name: string; outcome: LocalOutcome }> {
  const tryLink = async (candidate: string): Promise<boolean> => {
    try {
      await link(tempPath, path.join(dir, candidate));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw new ClientError(`cannot write ${candidate}: ${(error as Error).message}`, { code: "LOCAL_FILE_ERROR", cause: error });
    }
  };
  try {
    if (await tryLink(name)) return { name, outcome: "created" };
    switch (policy) {
      case "overwrite":
        await rename(tempPath, path.join(dir, name));
        return { name, outcome: "overwritten" };
      case "skip":
        return { name, outcome: "skipped" };
      case "fail":
        throw new ClientError(`${path.join(dir, name)} already exists (use --on-conflict to choose)`, { code: "ALREADY_EXISTS" });
      case "rename":
        for (let n = 1; n < 10_000; n++) {
          const candidate = numberedName(name, n);
          if (await tryLink(candidate)) return { name: candidate, outcome: "renamed" };
        }
        throw new ClientError(`no free name for ${name}`, { code: "LOCAL_FILE_ERROR" });
    }
  } finally {
    await unlink(tempPath).catch(() => undefined); // gone already after a rename
  }
}
