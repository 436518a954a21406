import path from "node:path";
import { publishWithPolicy } from "@ferry/node-io";
import type { ConflictPolicy, PublishOutcome } from "@ferry/protocol";
import { ClientError } from "./errors.js";

/**
 * Moves a verified download from its temp file to `dir/name` under `policy`: the same rules the
 * server applies to uploads (node-io's publishWithPolicy).
 */
export function publishLocal(tempPath: string, dir: string, name: string, policy: ConflictPolicy): { name: string; outcome: PublishOutcome } {
  let published;
  try {
    published = publishWithPolicy({ tempPath, resolve: (candidate) => path.join(dir, candidate) }, name, policy);
  } catch (cause) {
    throw new ClientError(`cannot write ${path.join(dir, name)}: ${(cause as Error).message}`, { code: "LOCAL_FILE_ERROR", cause });
  }
  if (published === "exists") {
    throw new ClientError(`${path.join(dir, name)} already exists`, { code: "ALREADY_EXISTS" });
  }
  if (published === "not-a-file") {
    throw new ClientError(`${path.join(dir, name)} is a symbolic link, a folder or another non-file; it is not replaced`, { code: "LOCAL_FILE_ERROR" });
  }
  return published;
}
