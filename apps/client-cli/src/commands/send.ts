import { UsageError } from "../settings.js";
import { stat } from "node:fs/promises";
import path from "node:path";
import { ClientError, FerryClient, findUnchanged, makeFolders, sendRaw, uploadFiles, walkLocalFolder } from "@ferry/client-core";
import type { ClientConfig, ConflictPolicy } from "@ferry/protocol";
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
  options: Pick<SendOptions, "signal" | "reporter" | "progress" | "onConflict" | "resume">,
): Promise<boolean> {
  const { progress, reporter, signal } = options;
  let checking = false;
  try {
    progress.start(file, size);
    const result = await client.upload(file, {
      signal,
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
        failures += await sendFolder(client, source, options);
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
      if (!(await uploadReported(client, source.path, size, options))) failures++;
    }
  } finally {
    progress.end();
    await client.close();
  }
  return failures === 0 ? EXIT.OK : EXIT.SOME_FAILED;
}

/** One walked folder (symlinks skipped and reported): every file pipelined; returns failures. */
async function sendFolder(client: FerryClient, source: Extract<Source, { kind: "folder" }>, options: SendOptions): Promise<number> {
  const { reporter, progress, signal } = options;
  const { files, skipped } = source.walked;
  let unsendable = 0;
  for (const entry of skipped) {
    if (entry.kind === "left-out") reporter.skipped(entry.localPath, entry.reason);
    else {
      unsendable++;
      reporter.failed(entry.localPath, new ClientError(entry.reason, { code: "UNSENDABLE_NAME" }));
    }
  }
  // What the server already holds byte for byte is reported unchanged without sending a byte: one
  // LIST of the folder, then only same-size files with a recorded SHA-256 are hashed here.
  const same = await findUnchanged(client, path.basename(path.resolve(source.path)).normalize("NFC"), files);
  for (const [file, sha256] of same) {
    progress.fileDone(file.size);
    reporter.stored(file.localPath, { name: file.name, requestedName: file.name, size: file.size, sha256, durationMs: 0, outcome: "unchanged", resumedFrom: 0 });
  }
  const changed = same.size === 0 ? files : files.filter((file) => !same.has(file));
  // Files are pipelined, many in flight at once: the overall bar is the one that moves.
  const failed = unsendable + (await uploadFiles(client, changed, {
    onConflict: options.onConflict,
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
  return (
    failed +
    (await makeFolders(client, source.walked.emptyFolders, {
      skipIdentical: true,
      signal,
      onMade: (folder, result) => reporter.stored(folder.localPath, result),
      onFailed: (folder, error) => reporter.failed(folder.localPath, error),
    }))
  );
}
