import { ClientError, FerryClient, downloadFolder } from "@ferry/client-core";
import type { ClientConfig, ConflictPolicy } from "@ferry/protocol";
import { EXIT, isConnectionError } from "../exit-codes.js";
import type { ProgressReporter } from "../progress.js";
import type { Reporter } from "../report.js";

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

/** Downloads one file with a progress bar; true when written (or skipped by policy). */
export async function downloadReported(client: FerryClient, name: string, options: Omit<GetOptions, "config" | "connect">): Promise<boolean> {
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
    reporter.failed(name, error);
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

/** Downloads one stored file or folder (the prompt's `get` too); returns how many files failed. */
export async function getOne(client: FerryClient, name: string, options: Omit<GetOptions, "config" | "connect">): Promise<number> {
  if (client.server.capabilities.includes("folders") && (await isFolder(client, name))) {
    return downloadFolder(client, name, {
      dir: options.dir,
      onConflict: options.onConflict,
      signal: options.signal,
      onWritten: (file, result) => options.reporter.downloaded(file, result),
      onFailed: (file, error) => options.reporter.failed(file, error),
    });
  }
  return (await downloadReported(client, name, options)) ? 0 : 1;
}

/** True when `name` is a folder on the server (LIST of it succeeds); false for a file or nothing. */
async function isFolder(client: FerryClient, name: string): Promise<boolean> {
  try {
    await client.list(name);
    return true;
  } catch (error) {
    if (error instanceof ClientError && (error.code === "NOT_FOUND" || error.code === "BAD_NAME")) return false;
    throw error;
  }
}
