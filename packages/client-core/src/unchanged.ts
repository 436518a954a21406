import { createReadStream, readFileSync } from "node:fs";
import { createHasher, digestOf } from "@ferry/node-io";
import { entryDigest, sameDigest, type DigestAlgorithm, type FileDigest, type ListEntry } from "@ferry/protocol";
import { ClientError } from "./errors.js";
import type { FerryClient } from "./ferry-client.js";
import type { LocalFile } from "./folders.js";

/** Files up to this size are hashed with one read. */
const SMALL_READ = 256 * 1024;

/** The digest of a local file in `algorithm`, read once. */
export async function digestOfFile(file: string, size: number, algorithm: DigestAlgorithm): Promise<FileDigest> {
  if (size <= SMALL_READ) return { algorithm, hex: digestOf(algorithm, readFileSync(file)) };
  const hash = createHasher(algorithm);
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return { algorithm, hex: hash.digest("hex") };
}

/**
 * Whether the local `file` holds the bytes a listing `entry` recorded: same size and the same digest
 * in the connection's `algorithm`. A file recorded with another algorithm is not read and counts
 * as changed (a comparison across algorithms proves nothing), and so does one never verified.
 */
export async function holdsRecorded(file: string, size: number, entry: Pick<ListEntry, "size" | "sha256" | "blake3">, algorithm: DigestAlgorithm): Promise<FileDigest | null> {
  const recorded = entryDigest(entry);
  if (entry.size !== size || recorded?.algorithm !== algorithm) return null;
  const local = await digestOfFile(file, size, algorithm).catch(() => null);
  return sameDigest(local, recorded) ? local : null;
}

/**
 * Which of `files` the server already holds byte for byte, learnt with one LIST of `folder` before
 * any byte moves (rsync's idea, with the verified hash instead of size and time): a file whose
 * server entry has the same size and a digest recorded in the connection's algorithm is hashed
 * locally, once, and is unchanged if the digests match (holdsRecorded). A file without a same-size entry is not read at all. A folder the server does
 * not have (NOT_FOUND) holds nothing. Returns each unchanged file with its digest.
 */
export async function findUnchanged(
  client: FerryClient,
  folder: string,
  files: readonly LocalFile[],
  /** The folder's listing when the caller has it already (one LIST for a whole sync). */
  listing?: readonly ListEntry[],
): Promise<Map<LocalFile, FileDigest>> {
  const entries = listing ?? (await listFolder(client, folder));
  const remote = new Map(entries.map((entry) => [entry.name, entry]));
  const same = new Map<LocalFile, FileDigest>();
  for (const file of files) {
    const entry = remote.get(file.name);
    if (!entry) continue;
    const digest = await holdsRecorded(file.localPath, file.size, entry, client.digest);
    if (digest) same.set(file, digest);
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
