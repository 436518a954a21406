import { lstatSync } from "node:fs";
import { rmdir, unlink } from "node:fs/promises";
import path from "node:path";
import { ClientError, FerryClient, downloadFolder, holdsRecorded, listFolder, walkLocalFolder } from "@ferry/client-core";
import { CAPABILITIES, type ClientConfig, type ConflictPolicy, type DigestAlgorithm, type ListEntry } from "@ferry/protocol";
import { PathFilter } from "../filters.js";
import { EXIT, isConnectionError } from "../exit-codes.js";
import type { ProgressReporter } from "../progress.js";
import type { Reporter } from "../report.js";
import { remoteName } from "./ls.js";

export interface GetOptions {
  config: ClientConfig;
  connect: (signal: AbortSignal) => Promise<FerryClient>;
  dir: string;
  onConflict: ConflictPolicy;
  /** Continue interrupted downloads (default). */
  resume?: boolean;
  signal: AbortSignal;
  reporter: Reporter;
  progress: ProgressReporter;
  /** --delete: make the local folder equal to the server's. */
  mirror?: boolean;
  /** -n: report what would happen; change nothing. */
  dryRun?: boolean;
  filter?: PathFilter;
}

/**
 * Downloads one file with a progress bar; true when written (or skipped by policy). With
 * `folderFallback`, a NOT_FOUND is not reported but answered "not-found": the name may be a folder.
 */
export async function downloadReported(
  client: FerryClient,
  name: string,
  options: Omit<GetOptions, "config" | "connect">,
  folderFallback = false,
): Promise<boolean | "not-found"> {
  const { progress, reporter, signal } = options;
  let started = false;
  try {
    const result = await client.download(name, {
      dir: options.dir,
      onConflict: options.onConflict,
      resume: options.resume,
      signal,
      onProgress: (p) => {
        if (!started) progress.start(name, p.total);
        started = true;
        progress.update(p.bytes);
      },
    });
    progress.stop();
    reporter.downloaded(name, result);
    return true;
  } catch (error) {
    progress.stop();
    if (folderFallback && error instanceof ClientError && error.code === "NOT_FOUND") return "not-found";
    reporter.failed(name, error, "down");
    if (isConnectionError(error) || signal.aborted) throw error;
    return false;
  }
}

/**
 * `ferry get NAME... [-o DIR]`: every file over one connection. A NAME that is a folder on the
 * server comes back whole, as DIR/NAME/…. Returns the exit code.
 */
export async function getCommand(names: string[], options: GetOptions): Promise<number> {
  const client = await options.connect(options.signal);
  let failures = 0;
  try {
    for (const name of names) failures += await getOne(client, name, options);
  } finally {
    await client.close();
  }
  return failures === 0 ? EXIT.OK : EXIT.SOME_FAILED;
}

/**
 * Downloads one stored file or folder (the prompt's `get` too); returns how many files failed. One
 * request decides for a file (GET); only a name no file has is then tried as a folder (LIST), and
 * `proj/` names the folder straight away.
 */
export async function getOne(client: FerryClient, given: string, options: Omit<GetOptions, "config" | "connect">): Promise<number> {
  const name = remoteName(given);
  const folders = client.server.capabilities.includes(CAPABILITIES.FOLDERS);
  if (options.dryRun && !given.endsWith("/")) {
    const planned = await planOne(client, name, options);
    if (planned !== "not-found") return planned;
  }
  if (!options.dryRun && !(folders && given.endsWith("/"))) {
    const done = await downloadReported(client, name, options, folders);
    if (done !== "not-found") return done ? 0 : 1;
  }
  let entries;
  try {
    entries = await client.list(name, { emptyFolders: true });
  } catch (error) {
    // Neither a file nor a folder: the GET's answer is the one to report.
    const notFound = error instanceof ClientError && (error.code === "NOT_FOUND" || error.code === "BAD_NAME");
    options.reporter.failed(given, notFound ? new ClientError(`${name} is not stored on the server`, { code: "NOT_FOUND" }) : error, "down");
    if (isConnectionError(error)) throw error;
    return 1;
  }
  const filter = options.filter ?? new PathFilter([]);
  const inside = (entry: string): string => entry.slice(name.length + 1);
  entries = entries.filter((entry) => !filter.excludes(inside(entry.name)));
  const local = path.join(options.dir, name);
  const extraneous = options.mirror ? await extraneousLocal(local, entries, (relative) => filter.excludes(relative), inside) : [];
  if (options.dryRun) return planFolder(entries, extraneous, options, client.digest);
  const { progress } = options;
  progress.begin(entries.length, entries.reduce((sum, entry) => sum + entry.size, 0));
  try {
    const failures = await downloadFolder(client, name, {
      dir: options.dir,
      // --delete mirrors: a changed file replaces the local copy.
      onConflict: options.mirror ? "overwrite" : options.onConflict,
      signal: options.signal,
      entries,
      onWritten: (file, result) => {
        progress.fileDone(result.size);
        options.reporter.downloaded(file, result);
      },
      onFolder: (folder) => options.reporter.madeFolder(folder, options.dir),
      onFailed: (file, error) => {
        progress.fileDone(0);
        options.reporter.failed(file, error, "down");
      },
    });
    return failures + (await deleteLocal(extraneous, local, options.reporter));
  } finally {
    progress.end();
  }
}

/** -n for one name: what a real `get` would do, from the listing of its folder; "not-found" if no such file. */
async function planOne(client: FerryClient, name: string, options: Omit<GetOptions, "config" | "connect">): Promise<number | "not-found"> {
  const parent = name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : undefined;
  const entry = (await listFolder(client, parent ?? "")).find((e) => e.name === name);
  if (!entry) return "not-found";
  return planFolder([entry], [], options, client.digest);
}

/** -n: each entry's planned outcome against what is on the local disk, then the deletions. */
async function planFolder(entries: readonly ListEntry[], extraneous: readonly string[], options: Omit<GetOptions, "config" | "connect">, algorithm: DigestAlgorithm): Promise<number> {
  const policy = options.mirror ? "overwrite" : options.onConflict;
  for (const entry of entries) {
    const target = path.join(options.dir, entry.name);
    const folder = entry.name.endsWith("/");
    const info = lstatSync(target, { throwIfNoEntry: false });
    let outcome: "created" | "unchanged" | "renamed" | "overwritten" | "skipped" | "failed" = "created";
    if (info && folder) outcome = "unchanged";
    else if (info?.isFile() && (await holdsRecorded(target, info.size, entry, algorithm))) outcome = "unchanged";
    else if (info) outcome = policy === "rename" ? "renamed" : policy === "overwrite" ? "overwritten" : policy === "skip" ? "skipped" : "failed";
    options.reporter.planned("down", entry.name, outcome, { name: entry.name, path: target, size: entry.size });
  }
  for (const file of extraneous) options.reporter.planned("delete", file, "deleted", { path: file, size: 0 });
  return 0;
}

/**
 * --delete for get: local files and folders under `root` (the folder being got) that the server's
 * folder does not have, excluded ones aside; deepest first. Symlinks are never followed (the walk
 * reports them and they stay). Every path is inside `root`.
 */
async function extraneousLocal(root: string, entries: readonly ListEntry[], excluded: (relative: string) => boolean, inside: (name: string) => string): Promise<string[]> {
  if (!lstatSync(root, { throwIfNoEntry: false })?.isDirectory()) return [];
  const walked = await walkLocalFolder(root);
  const remoteFiles = new Set(entries.filter((e) => !e.name.endsWith("/")).map((e) => inside(e.name)));
  const remoteFolders = new Set(entries.filter((e) => e.name.endsWith("/")).map((e) => inside(e.name)));
  for (const file of remoteFiles) for (let at = file.indexOf("/"); at !== -1; at = file.indexOf("/", at + 1)) remoteFolders.add(`${file.slice(0, at)}/`);
  // The walk names things "<root's name>/…": strip that first component.
  const relative = (walkedName: string): string => walkedName.slice(walkedName.indexOf("/") + 1);
  const extra: string[] = [];
  for (const file of walked.files) {
    const rel = relative(file.name);
    if (!remoteFiles.has(rel) && !excluded(rel)) extra.push(path.join(root, rel));
  }
  const localFolders = new Set<string>();
  for (const file of walked.files) {
    const rel = relative(file.name);
    for (let at = rel.indexOf("/"); at !== -1; at = rel.indexOf("/", at + 1)) localFolders.add(`${rel.slice(0, at)}/`);
  }
  for (const folder of walked.emptyFolders) localFolders.add(relative(folder.name));
  const folders = [...localFolders].filter((folder) => !remoteFolders.has(folder) && !excluded(folder)).sort((a, b) => b.length - a.length);
  return [...extra, ...folders.map((folder) => path.join(root, folder))];
}

/** Deletes what extraneousLocal found: files, then folders if they are empty by then. Returns failures. */
async function deleteLocal(paths: readonly string[], root: string, reporter: Reporter): Promise<number> {
  let failures = 0;
  for (const target of paths) {
    if (!target.startsWith(root + path.sep)) continue; // never outside the folder being got
    try {
      if (target.endsWith(path.sep)) await rmdir(target);
      else await unlink(target);
      reporter.deletedLocal(target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOTEMPTY") continue; // an excluded file keeps it
      failures++;
      reporter.failed(target, new ClientError(`cannot delete ${target}: ${(error as Error).message}`, { code: "LOCAL_FILE_ERROR", cause: error }), "delete");
    }
  }
  return failures;
}
