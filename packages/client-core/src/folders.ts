import { lstatSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { CAPABILITIES, LIMITS, folderMarker, pathProblem, type ConflictPolicy, type ListEntry } from "@ferry/protocol";
import { makeDirectories } from "@ferry/node-io";
import { groupForBatches } from "./batch-upload.js";
import type { DownloadResult } from "./download.js";
import { ClientError, isConnectionLevel } from "./errors.js";
import type { FerryClient } from "./ferry-client.js";
import type { UploadResult } from "./upload.js";
import { holdsRecorded } from "./unchanged.js";

/** A file found in a local folder, and the name it gets on the server. */
export interface LocalFile {
  localPath: string;
  /** Relative path on the server: the folder's own name, then the path inside it. */
  name: string;
  size: number;
}

/** Something in a folder that is not sent, and why. */
/** An empty local folder and the "name/" entry that makes it on the server. */
export interface LocalFolder {
  localPath: string;
  name: string;
}

export interface SkippedEntry {
  localPath: string;
  reason: string;
  /**
   * "unsendable": a file the user meant to send but whose name cannot go on the wire (not UTF-8,
   * or against protocol.md §6): a failure. "left-out": a link or a special file, never sent by design.
   */
  kind: "unsendable" | "left-out";
}

/**
 * Walks a local folder. Symlinks are never followed (a link to /etc or to its own parent would
 * otherwise carry the walk out of the tree or round in circles): they are reported as skipped,
 * like sockets, devices and names the protocol cannot carry.
 */
function unreadable(dir: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" && dir.includes("\uFFFD")) return "name is not valid UTF-8; rename it to send it";
  return `cannot read the folder (${code ?? (error as Error).message})`;
}

export async function walkLocalFolder(root: string): Promise<{ files: LocalFile[]; skipped: SkippedEntry[]; emptyFolders: LocalFolder[] }> {
  const files: LocalFile[] = [];
  const skipped: SkippedEntry[] = [];
  // Folders with nothing in them: sent as "name/" entries where the server keeps empty folders.
  const emptyFolders: LocalFolder[] = [];
  const top = path.basename(path.resolve(root)).normalize("NFC");
  const pending: [string, string][] = [[path.resolve(root), top]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [dir, remote] = next;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (dir === path.resolve(root)) throw error; // the folder itself: the caller reports it
      skipped.push({ localPath: dir, reason: unreadable(dir, error), kind: "unsendable" });
      continue;
    }
    if (entries.length === 0) emptyFolders.push({ localPath: dir, name: `${remote}/` });
    for (const entry of entries) {
      const localPath = path.join(dir, entry.name);
      const name = `${remote}/${entry.name.normalize("NFC")}`; // the wire carries NFC names
      const problem = pathProblem(name);
      if (entry.name.includes("\uFFFD") && lstatSync(localPath, { throwIfNoEntry: false }) === undefined) {
        // readdir decoded a name that is not UTF-8 (U+FFFD where the bad bytes were), so no path
        // reaches the file: it cannot be sent under any name the wire carries. The rest still goes.
        skipped.push({ localPath, reason: "name is not valid UTF-8; rename it to send it", kind: "unsendable" });
      } else if (problem) {
        skipped.push({ localPath, reason: problem, kind: "unsendable" });
      } else if (entry.isSymbolicLink()) {
        skipped.push({ localPath, reason: "symbolic link (not followed)", kind: "left-out" });
      } else if (entry.isDirectory()) {
        pending.push([localPath, name]);
      } else if (entry.isFile()) {
        // Synchronous (docs/performance.md, "Synchronous metadata calls"). Gone since readdir: skipped.
        const info = lstatSync(localPath, { throwIfNoEntry: false });
        if (info) files.push({ localPath, name, size: info.size });
        else skipped.push({ localPath, reason: "removed while the folder was read", kind: "unsendable" });
      } else {
        skipped.push({ localPath, reason: "not a regular file", kind: "left-out" });
      }
    }
  }
  files.sort((a, b) => (a.name < b.name ? -1 : 1));
  emptyFolders.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { files, skipped, emptyFolders };
}

export interface FolderUploadOptions {
  onConflict?: ConflictPolicy;
  /** Keep files the server already holds byte for byte: outcome "unchanged" (see UploadOptions). */
  skipIdentical?: boolean;
  /** Resume interrupted large files (default true). */
  resume?: boolean;
  signal?: AbortSignal;
  /** Uploads queued on the connection at once; the wire never waits for a confirmation. */
  window?: number;
  /** Send files of at most 64 KiB in PUT_BATCH requests when the server announces "batch" (default true). */
  batch?: boolean;
  onStored?: (file: LocalFile, result: UploadResult) => void;
  onFailed?: (file: LocalFile, error: ClientError) => void;
}

/**
 * Sends every file of `files` over one connection, pipelined: up to `window` uploads are queued
 * so a folder of 10,000 small files pays no round trip per file. Resolves with the failure count;
 * a connection-level failure rejects.
 */
export async function uploadFiles(client: FerryClient, files: LocalFile[], options: FolderUploadOptions = {}): Promise<number> {
  // Files of at most 64 KiB go in PUT_BATCH requests where the server takes them: one request,
  // one answer and one round of fsyncs per ~70 files instead of per file (protocol.md §4.5).
  const batches = client.server.capabilities.includes(CAPABILITIES.BATCH) && options.batch !== false;
  const small = batches ? files.filter((f) => f.size <= LIMITS.MAX_BATCH_FILE) : [];
  const rest = batches ? files.filter((f) => f.size > LIMITS.MAX_BATCH_FILE) : files;
  let failures = await inLanes(groupForBatches(small), BATCHES_IN_FLIGHT, async (group) => {
    let results: (UploadResult | ClientError)[];
    try {
      results = await client.uploadBatch(group, { onConflict: options.onConflict, skipIdentical: options.skipIdentical, signal: options.signal });
    } catch (error) {
      if (endsTheRun(error)) throw error;
      // The whole batch refused (an ERROR with its id): each of its files failed with that.
      results = group.map(() => error as ClientError);
    }
    let failed = 0;
    results.forEach((result, i) => {
      if (result instanceof ClientError) {
        failed++;
        options.onFailed?.(group[i]!, result);
      } else {
        options.onStored?.(group[i]!, result);
      }
    });
    return failed;
  });
  failures += await inLanes(rest, options.window ?? 64, async (file) => {
    try {
      const result = await client.upload(file.localPath, {
        name: file.name,
        onConflict: options.onConflict,
        skipIdentical: options.skipIdentical,
        resume: options.resume,
        signal: options.signal,
      });
      options.onStored?.(file, result);
    } catch (error) {
      options.onFailed?.(file, error as ClientError);
      throw error;
    }
  });
  return failures;
}

/**
 * PUT_BATCH requests queued on the connection at once (each up to 128 files of ≤ 64 KiB). Enough
 * that the server has the next batches' bytes while a batch's fsyncs are in its thread pool: with 4
 * its main thread waited a quarter of W2; 16 kept it busy but held 10 MiB more of its memory
 * (docs/performance.md, "W2, third session").
 */
const BATCHES_IN_FLIGHT = 8;

export interface FolderDownloadOptions {
  dir?: string;
  onConflict?: ConflictPolicy;
  signal?: AbortSignal;
  /**
   * Downloads asked for at once (default 16). The server still sends them one after another, but
   * the next one starts without waiting for a round trip, and local fsyncs overlap: 10,000 files
   * of 4 KiB took 18 s one at a time (see docs/performance.md).
   */
  window?: number;
  /** The folder's listing, when the caller already has it (one LIST fewer). */
  entries?: ListEntry[];
  onWritten?: (name: string, result: DownloadResult) => void;
  /** An empty folder ("path/") was made locally. */
  onFolder?: (name: string) => void;
  onFailed?: (name: string, error: ClientError) => void;
}

/**
 * Makes each empty folder on the server ("name/" entries, capability empty-folders; a server without
 * it keeps no empty folders, so nothing is sent). Resolves with the failure count.
 */
export async function makeFolders(
  client: FerryClient,
  folders: LocalFolder[],
  options: { skipIdentical?: boolean; signal?: AbortSignal; onMade?: (folder: LocalFolder, result: UploadResult) => void; onFailed?: (folder: LocalFolder, error: ClientError) => void } = {},
): Promise<number> {
  if (!client.server.capabilities.includes(CAPABILITIES.EMPTY_FOLDERS)) return 0;
  return inLanes(folders, 16, async (folder) => {
    try {
      const result = await client.uploadStream([], { name: folder.name, size: 0, skipIdentical: options.skipIdentical, signal: options.signal });
      options.onMade?.(folder, result);
    } catch (error) {
      options.onFailed?.(folder, error as ClientError);
      throw error;
    }
  });
}

/**
 * Downloads every file under server folder `folder` into `dir/folder/…`, and makes its empty folders
 * ("path/" entries, from servers that keep them). Resolves with the failure count.
 */
export async function downloadFolder(client: FerryClient, folder: string, options: FolderDownloadOptions = {}): Promise<number> {
  const entries = options.entries ?? (await client.list(folder, { emptyFolders: true }));
  return inLanes(entries, options.window ?? 16, async (entry) => {
    const emptyFolder = folderMarker(entry.name);
    if (emptyFolder !== null) {
      // The listing's names were checked (pathProblem): a relative path under `dir`, never outside it.
      try {
        makeDirectories(path.join(options.dir ?? ".", emptyFolder));
      } catch (cause) {
        const error = new ClientError(`cannot make the folder ${emptyFolder}: ${(cause as Error).message}`, { code: "LOCAL_FILE_ERROR", cause });
        options.onFailed?.(entry.name, error);
        throw error;
      }
      options.onFolder?.(entry.name);
      return;
    }
    try {
      // A local file with the size and digest the server recorded is unchanged: nothing moves.
      const local = path.join(options.dir ?? ".", entry.name);
      const info = lstatSync(local, { throwIfNoEntry: false });
      const digest = info?.isFile() ? await holdsRecorded(local, info.size, entry, client.digest) : null;
      if (digest) {
        options.onWritten?.(entry.name, { name: path.basename(local), path: local, size: entry.size, digest, durationMs: 0, outcome: "unchanged", resumedFrom: 0 });
        return;
      }
      const result = await client.download(entry.name, { dir: options.dir, onConflict: options.onConflict, signal: options.signal });
      options.onWritten?.(entry.name, result);
    } catch (error) {
      options.onFailed?.(entry.name, error as ClientError);
      throw error;
    }
  });
}

/**
 * Runs `transfer` over `items`, up to `window` at once, started in order. A transfer that throws
 * counts as one failure (one that resolves with a number counts that many); one that lost the connection (or was aborted) also stops new ones from
 * starting and is rethrown once those running have ended. Resolves with the failure count.
 */
async function inLanes<T>(items: T[], window: number, transfer: (item: T) => Promise<number | void>): Promise<number> {
  let next = 0;
  let failures = 0;
  let fatal: unknown;
  const lane = async (): Promise<void> => {
    while (next < items.length && fatal === undefined) {
      try {
        failures += (await transfer(items[next++]!)) ?? 0; // a batch reports its own failed files
      } catch (error) {
        failures++;
        if (endsTheRun(error)) fatal ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(window, items.length)) }, lane));
  if (fatal !== undefined) throw fatal;
  return failures;
}

/** A lost connection or an abort: no later transfer of the run can succeed. */
function endsTheRun(error: unknown): boolean {
  return isConnectionLevel(error) || (error as ClientError).code === "ABORTED";
}
