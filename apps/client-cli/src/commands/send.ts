import { UsageError } from "../settings.js";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { pipeline } from "node:stream/promises";
import path from "node:path";
import { ClientError, FerryClient, findUnchanged, holdsRecorded, listFolder, makeFolders, sendRaw, uploadFiles, walkLocalFolder } from "@ferry/client-core";
import { PathFilter } from "../filters.js";
import type { ClientConfig, ConflictPolicy, ListEntry } from "@ferry/protocol";
import { EXIT, isConnectionError } from "../exit-codes.js";
import type { ProgressReporter } from "../progress.js";
import type { Reporter } from "../report.js";

export interface SendOptions {
  config: ClientConfig;
  connect: (signal: AbortSignal) => Promise<FerryClient>;
  raw: boolean;
  /** What the server does when a name is taken; undefined leaves it to the server (rename). */
  onConflict?: ConflictPolicy;
  /** Continue interrupted uploads (default); false starts every file from zero. */
  resume?: boolean;
  /** --to: the server folder every name goes under ("a/b/"). */
  to?: string;
  /** --as: the server name of the one file (or of standard input). */
  as?: string;
  /** Where `-` reads from. */
  stdin?: NodeJS.ReadableStream;
  /** --delete: make the server folder equal to the local one. */
  mirror?: boolean;
  /** -n: report what would happen; change nothing on either side. */
  dryRun?: boolean;
  /** --exclude/--include. */
  filter?: PathFilter;
  signal: AbortSignal;
  reporter: Reporter;
  progress: ProgressReporter;
}

/** Checks a local path before any byte moves, so a typo fails fast with a clear line. */
export async function checkLocalFile(file: string): Promise<number> {
  let info;
  try {
    info = await stat(file);
  } catch (error) {
    throw new ClientError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      code: "LOCAL_FILE_ERROR",
      cause: error,
    });
  }
  if (!info.isFile()) throw new ClientError(`${file} is not a regular file`, { code: "LOCAL_FILE_ERROR" });
  return info.size;
}

/**
 * Uploads one file with a progress bar and reports the outcome. Returns true when stored; a
 * failure is reported, and rethrown only when the connection or the whole run is over.
 */
export async function uploadReported(
  client: FerryClient,
  file: string,
  size: number,
  options: Pick<SendOptions, "signal" | "reporter" | "progress" | "onConflict" | "resume"> & { name?: string },
): Promise<boolean> {
  const { progress, reporter, signal } = options;
  let checking = false;
  try {
    progress.start(file, size);
    const result = await client.upload(file, {
      signal,
      ...(options.name !== undefined ? { name: options.name } : {}),
      onConflict: options.onConflict,
      // Re-running a send never stores a copy of a file the server already holds byte for byte.
      skipIdentical: true,
      resume: options.resume,
      // A resume first re-reads what the server holds: said, rather than a bar sitting at 0 %.
      onCheck: (bytes) => {
        checking = true;
        progress.start(file, bytes, "checking");
      },
      onProgress: (p) => {
        if (checking) progress.start(file, size);
        checking = false;
        progress.update(p.bytes);
      },
    });
    progress.stop();
    progress.fileDone(size);
    reporter.stored(file, result);
    return true;
  } catch (error) {
    progress.stop();
    progress.fileDone(0);
    reporter.failed(file, error);
    if (isConnectionError(error) || signal.aborted) throw error;
    return false;
  }
}

/** A command-line argument, classified (and a folder walked) before anything moves. */
type Source = { kind: "file"; path: string; size: number } | { kind: "folder"; path: string; walked: Awaited<ReturnType<typeof walkLocalFolder>> };

async function classify(arg: string): Promise<Source> {
  const info = await stat(arg).catch((error: NodeJS.ErrnoException) => {
    throw new ClientError(`cannot read ${arg}: ${error.code ?? error.message}`, { code: "LOCAL_FILE_ERROR", cause: error });
  });
  if (info.isDirectory()) return { kind: "folder", path: arg, walked: await walkLocalFolder(arg) };
  if (!info.isFile()) throw new ClientError(`${arg} is not a regular file or a folder`, { code: "LOCAL_FILE_ERROR" });
  return { kind: "file", path: arg, size: info.size };
}

/**
 * `ferry send PATH...`: files and folders over one connection (one connection per file with
 * --raw, which cannot carry folders). Returns the exit code.
 */
export async function sendCommand(args: string[], options: SendOptions): Promise<number> {
  const { config, reporter, progress, signal } = options;
  const prefix = checkRemoteTarget(args, options);
  if (args.length === 1 && args[0] === "-") return sendStdin({ ...options, as: `${prefix}${options.as!}` });
  const sources: Source[] = [];
  let failures = 0;
  for (const arg of args) {
    try {
      const source = await classify(arg);
      if (source.kind === "folder" && options.raw) throw new ClientError(`${arg} is a folder; --raw sends single files only`, { code: "LOCAL_FILE_ERROR" });
      sources.push(source);
    } catch (error) {
      failures++;
      reporter.failed(arg, error);
    }
  }
  if (sources.length === 0) return EXIT.SOME_FAILED;

  if (options.raw) {
    if (config.tls) throw new UsageError("--raw sends bare bytes over plain TCP; it cannot be combined with TLS");
    for (const { path: file } of sources) {
      try {
        const result = await sendRaw(file, {
          host: config.host,
          port: config.port,
          signal,
          onProgress: (p) => progress.update(p.bytes),
        });
        reporter.sentRaw(file, result.size, result.sha256);
      } catch (error) {
        failures++;
        reporter.failed(file, error);
        if (isConnectionError(error) || signal.aborted) throw error;
      } finally {
        progress.stop();
      }
    }
    return failures === 0 ? EXIT.OK : EXIT.SOME_FAILED;
  }

  const client = await options.connect(signal);
  // One overall bar for the run: every file of every argument, and their bytes.
  const all = sources.flatMap((s) => (s.kind === "file" ? [s.size] : s.walked.files.map((f) => f.size)));
  progress.begin(all.length, all.reduce((sum, size) => sum + size, 0));
  try {
    for (const source of sources) {
      if (source.kind === "folder") {
        failures += await sendFolder(client, source, options, prefix);
        continue;
      }
      // One file at a time keeps the progress bar honest; folders pipeline instead.
      let size: number;
      try {
        size = await checkLocalFile(source.path); // again: it may have gone since the first check
      } catch (error) {
        failures++;
        reporter.failed(source.path, error);
        continue;
      }
      const name = `${prefix}${options.as ?? path.basename(source.path).normalize("NFC")}`;
      if (options.filter?.excludes(path.basename(source.path).normalize("NFC"))) continue;
      if (options.dryRun) {
        await planFile(client, source.path, name, size, options);
        continue;
      }
      if (!(await uploadReported(client, source.path, size, { ...options, name }))) failures++;
    }
  } finally {
    progress.end();
    await client.close();
  }
  return failures === 0 ? EXIT.OK : EXIT.SOME_FAILED;
}

/** One walked folder (symlinks skipped and reported): every file pipelined; returns failures. */
async function sendFolder(client: FerryClient, source: Extract<Source, { kind: "folder" }>, options: SendOptions, prefix: string): Promise<number> {
  const { reporter, progress, signal } = options;
  const filter = options.filter ?? new PathFilter([]);
  const top = `${prefix}${path.basename(path.resolve(source.path)).normalize("NFC")}`;
  /** The path inside the synced folder, as filters see it. */
  const inside = (name: string): string => name.slice(top.length + 1);
  // --to a/b/: the folder lands inside a/b/ on the server. Excluded paths are neither sent nor deleted.
  const files = source.walked.files.map((file) => ({ ...file, name: `${prefix}${file.name}` })).filter((file) => !filter.excludes(inside(file.name)));
  const emptyFolders = source.walked.emptyFolders.map((folder) => ({ ...folder, name: `${prefix}${folder.name}` })).filter((folder) => !filter.excludes(inside(folder.name)));
  let unsendable = 0;
  for (const entry of source.walked.skipped) {
    if (entry.kind === "left-out") reporter.skipped(entry.localPath, entry.reason);
    else {
      unsendable++;
      reporter.failed(entry.localPath, new ClientError(entry.reason, { code: "UNSENDABLE_NAME" }));
    }
  }
  // One LIST of the folder decides what is unchanged (then only same-size files are hashed here),
  // what would be renamed or overwritten, and, with --delete, what the server has that this side does not.
  const listing = await listFolder(client, top, { emptyFolders: true });
  const same = await findUnchanged(client, top, files, listing);
  const remoteNames = new Set(listing.map((entry) => entry.name));
  // --delete mirrors: a changed file replaces the server's copy instead of landing beside it.
  const policy = options.mirror ? "overwrite" : options.onConflict;
  const extraneous = options.mirror ? extraneousEntries(listing, files, emptyFolders, top, (name) => filter.excludes(inside(name))) : [];
  if (options.dryRun) {
    for (const file of files) {
      const outcome = same.has(file) ? "unchanged" : !remoteNames.has(file.name) ? "created" : plannedForTaken(policy);
      reporter.planned("up", file.localPath, outcome, { name: file.name, size: file.size });
    }
    for (const folder of emptyFolders) reporter.planned("up", folder.localPath, remoteNames.has(folder.name) ? "unchanged" : "created", { name: folder.name, size: 0 });
    for (const entry of extraneous) reporter.planned("delete", entry.name, "deleted", { name: entry.name, size: entry.size });
    return 0;
  }
  for (const [file, digest] of same) {
    progress.fileDone(file.size);
    reporter.stored(file.localPath, { name: file.name, requestedName: file.name, size: file.size, digest, durationMs: 0, outcome: "unchanged", resumedFrom: 0 });
  }
  const changed = same.size === 0 ? files : files.filter((file) => !same.has(file));
  // Files are pipelined, many in flight at once: the overall bar is the one that moves.
  const failed = unsendable + (await uploadFiles(client, changed, {
    onConflict: policy,
    skipIdentical: true,
    resume: options.resume,
    signal,
    onStored: (file, result) => {
      progress.fileDone(file.size);
      reporter.stored(file.localPath, result);
    },
    onFailed: (file, error) => {
      progress.fileDone(0);
      reporter.failed(file.localPath, error);
    },
  }));
  // Empty folders travel too, where the server keeps them ("name/" entries).
  const folderFailures = await makeFolders(client, emptyFolders, {
    skipIdentical: true,
    signal,
    onMade: (folder, result) => reporter.stored(folder.localPath, result),
    onFailed: (folder, error) => reporter.failed(folder.localPath, error),
  });
  // Deletions last: files first, then the empty folders left ("name/"), never outside `top`.
  let deleteFailures = 0;
  for (const entry of extraneous) {
    try {
      await client.delete(entry.name);
      reporter.deleted(entry.name);
    } catch (error) {
      deleteFailures++;
      reporter.failed(entry.name, error, "delete");
      if (isConnectionError(error) || signal.aborted) throw error;
    }
  }
  return failed + folderFailures + deleteFailures;
}

/** -n for one file: its planned outcome, from the listing of the server folder it would land in. */
async function planFile(client: FerryClient, file: string, name: string, size: number, options: SendOptions): Promise<void> {
  const folder = name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : "";
  const entry = (await listFolder(client, folder)).find((e) => e.name === name);
  let outcome: "created" | "unchanged" | "renamed" | "overwritten" | "skipped" | "failed" = "created";
  if (entry) {
    const same = (await holdsRecorded(file, size, entry, client.digest)) !== null;
    outcome = same ? "unchanged" : plannedForTaken(options.onConflict);
  }
  options.reporter.planned("up", file, outcome, { name, size });
}

/** What a run would do with a name the server already holds with other bytes. */
function plannedForTaken(policy: ConflictPolicy | undefined): "renamed" | "overwritten" | "skipped" | "failed" {
  switch (policy ?? "rename") {
    case "rename":
      return "renamed";
    case "overwrite":
      return "overwritten";
    case "skip":
      return "skipped";
    default:
      return "failed";
  }
}

/**
 * --delete: the server's entries under `top` this side does not have (files, then empty folders),
 * leaving excluded paths alone. A listing holds only names under `top`, so nothing outside it is
 * ever named.
 */
function extraneousEntries(
  listing: readonly ListEntry[],
  files: readonly { name: string }[],
  emptyFolders: readonly { name: string }[],
  top: string,
  excluded: (name: string) => boolean,
): ListEntry[] {
  const local = new Set(files.map((file) => file.name));
  const localFolders = new Set(emptyFolders.map((folder) => folder.name));
  for (const file of files) for (let at = file.name.indexOf("/"); at !== -1; at = file.name.indexOf("/", at + 1)) localFolders.add(`${file.name.slice(0, at)}/`);
  const gone = listing.filter((entry) => entry.name.startsWith(`${top}/`) && !excluded(entry.name));
  const extraFiles = gone.filter((entry) => !entry.name.endsWith("/") && !local.has(entry.name));
  const extraFolders = gone.filter((entry) => entry.name.endsWith("/") && !localFolders.has(entry.name));
  return [...extraFiles, ...extraFolders.sort((a, b) => b.name.length - a.name.length)];
}

/**
 * The server-side prefix of --to ("" without it), after checking --to and --as against the
 * arguments: --as names exactly one file or `-`; `-` needs --as (a pipe has no name); --to names a
 * folder, so it ends with "/"; neither goes with --raw (the lab's server picks output<N>.txt).
 */
function checkRemoteTarget(args: string[], options: SendOptions): string {
  const stdin = args.includes("-");
  if (stdin && args.length > 1) throw new UsageError("`-` (standard input) is sent alone: give it as the only path");
  if (stdin && options.as === undefined) throw new UsageError("`ferry send -` needs --as NAME: standard input has no name of its own");
  if (options.as !== undefined && args.length !== 1) throw new UsageError("--as names one file; give exactly one path (or --to FOLDER/ for several)");
  if ((options.as !== undefined || options.to !== undefined) && options.raw) throw new UsageError("--raw cannot choose the name: the lab's server names each upload output<N>.txt");
  if (options.as !== undefined && (options.as === "" || options.as.endsWith("/"))) throw new UsageError(`--as ${JSON.stringify(options.as)}: a file name, not a folder (for a folder, --to ${options.as || "FOLDER/"})`);
  if (options.to === undefined) return "";
  if (!options.to.endsWith("/")) throw new UsageError(`--to ${JSON.stringify(options.to)}: a folder on the server ends with "/" (--to ${options.to}/); to choose the file's name, --as`);
  const folder = options.to.replace(/^\/+/, "");
  return folder === "/" || folder === "" ? "" : folder;
}

/**
 * `ferry send - --as NAME`: standard input, of a size nobody knows in advance. The protocol
 * declares the size in PUT, so the bytes are first spooled to a private temp file (never held in
 * memory), then sent like any file — resumable if large, verified end to end.
 */
async function sendStdin(options: SendOptions): Promise<number> {
  const spoolDir = await mkdtemp(path.join(tmpdir(), "ferry-stdin-"));
  const spool = path.join(spoolDir, "stdin");
  try {
    try {
      await pipeline(options.stdin ?? process.stdin, createWriteStream(spool, { mode: 0o600 }), { signal: options.signal });
    } catch (error) {
      options.reporter.failed("-", new ClientError(`cannot read standard input: ${(error as Error).message}`, { code: "LOCAL_FILE_ERROR", cause: error }));
      return EXIT.SOME_FAILED;
    }
    const size = (await stat(spool)).size;
    const client = await options.connect(options.signal);
    options.progress.begin(1, size);
    try {
      return (await uploadReported(client, spool, size, { ...options, name: options.as! })) ? EXIT.OK : EXIT.SOME_FAILED;
    } finally {
      options.progress.end();
      await client.close();
    }
  } finally {
    await rm(spoolDir, { recursive: true, force: true });
  }
}
