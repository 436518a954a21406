import { stat } from "node:fs/promises";
import { FerryClient, sendRaw, ClientError } from "@ferry/client-core";
import type { ClientConfig, ConflictPolicy } from "@ferry/protocol";
import { EXIT, isConnectionError } from "../exit-codes.js";
import type { ProgressReporter } from "../progress.js";
import type { Reporter } from "../report.js";

export interface SendOptions {
  config: ClientConfig;
  raw: boolean;
  /** What the server does when a name is taken; undefined leaves it to the server (rename). */
  onConflict?: ConflictPolicy;
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
  options: Pick<SendOptions, "signal" | "reporter" | "progress" | "onConflict">,
): Promise<boolean> {
  const { progress, reporter, signal } = options;
  try {
    progress.start(file, size);
    const result = await client.upload(file, {
      signal,
      onConflict: options.onConflict,
      onProgress: (p) => progress.update(p.bytes),
    });
    progress.stop();
    reporter.stored(file, result);
    return true;
  } catch (error) {
    progress.stop();
    reporter.failed(file, error);
    if (isConnectionError(error) || signal.aborted) throw error;
    return false;
  }
}

/** `ferry send FILE...`: every file over one connection (one per file with --raw). Returns the exit code. */
export async function sendCommand(files: string[], options: SendOptions): Promise<number> {
  const { config, reporter, progress, signal } = options;
  const ready: string[] = [];
  let failures = 0;
  for (const file of files) {
    try {
      await checkLocalFile(file);
      ready.push(file);
    } catch (error) {
      failures++;
      reporter.failed(file, error);
    }
  }
  if (ready.length === 0) return EXIT.SOME_FAILED;

  if (options.raw) {
    for (const file of ready) {
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

  const client = await FerryClient.connect(config, { signal });
  try {
    for (const file of ready) {
      // One at a time keeps the progress bar honest; the wire cost is one round trip per file.
      let size: number;
      try {
        size = await checkLocalFile(file); // again: it may have gone since the first check
      } catch (error) {
        failures++;
        reporter.failed(file, error);
        continue;
      }
      if (!(await uploadReported(client, file, size, options))) failures++;
    }
  } finally {
    await client.close();
  }
  return failures === 0 ? EXIT.OK : EXIT.SOME_FAILED;
}
