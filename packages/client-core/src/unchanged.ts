import { createHash } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import type { ListEntry } from "@ferry/protocol";
import { ClientError } from "./errors.js";
import type { FerryClient } from "./ferry-client.js";
import type { LocalFile } from "./folders.js";

/** Files up to this size are hashed with one read. */
const SMALL_READ = 256 * 1024;

/** The SHA-256 of a local file, read once. */
export async function sha256OfFile(file: string, size: number): Promise<string> {
  if (size <= SMALL_READ) return createHash("sha256").update(readFileSync(file)).digest("hex");
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * Which of `files` the server already holds byte for byte, learnt with one LIST of `folder` before
 * any byte moves (rsync's idea, with the verified hash instead of size and time): a file whose
 * server entry has the same size and a recorded SHA-256 is hashed locally, once, and is unchanged if
 * the digests match. A file without a same-size entry is not read at all. A folder the server does
 * not have (NOT_FOUND) holds nothing. Returns each unchanged file with its digest.
 */
export async function findUnchanged(
  client: FerryClient,
  folder: string,
  files: readonly LocalFile[],
  /** The folder's listing when the caller has it already (one LIST for a whole sync). */
  listing?: readonly ListEntry[],
): Promise<Map<LocalFile, string>> {
  const entries = listing ?? (await listFolder(client, folder));
  const remote = new Map(entries.map((entry) => [entry.name, entry]));
  const same = new Map<LocalFile, string>();
  for (const file of files) {
    const entry = remote.get(file.name);
    if (!entry || entry.size !== file.size || entry.sha256 === null) continue;
    const sha256 = await sha256OfFile(file.localPath, file.size).catch(() => null);
    if (sha256 === entry.sha256) same.set(file, sha256);
  }
  return same;
}

/** A server folder's listing ("" for the whole store; with emptyFolders, "name/" entries too); a folder the server does not have is empty. */
export async function listFolder(client: FerryClient, folder: string, options: { emptyFolders?: boolean } = {}): Promise<ListEntry[]> {
  try {
    return await client.list(folder === "" ? undefined : folder, options); // "": the whole store
  } catch (error) {
    if (error instanceof ClientError && error.code === "NOT_FOUND") return [];
    throw error;
  }
}
