import { ClientError, FerryClient, downloadFolder } from "@ferry/client-core";
import { CAPABILITIES, type ClientConfig, type ConflictPolicy } from "@ferry/protocol";
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
  if (!(folders && given.endsWith("/"))) {
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
  const { progress } = options;
  progress.begin(entries.length, entries.reduce((sum, entry) => sum + entry.size, 0));
  try {
    return await downloadFolder(client, name, {
      dir: options.dir,
      onConflict: options.onConflict,
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
  } finally {
    progress.end();
  }
}
