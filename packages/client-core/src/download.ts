import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, unlink } from "node:fs/promises";
import path from "node:path";
import { CAPABILITIES, pathProblem, type ConflictPolicy } from "@ferry/protocol";
import { raceAbort, throwIfAborted } from "./abort.js";
import { ClientError } from "./errors.js";
import { localTempPath, publishLocal, type LocalOutcome } from "./local-publish.js";
import type { UploadProgress } from "./upload.js";
import type { Wire } from "./wire.js";

export interface DownloadOptions {
  /** Directory to write into (created if missing). Default: the current directory. */
  dir?: string;
  /** What to do when the local name is taken. Default "fail". */
  onConflict?: ConflictPolicy;
  /** fsync the file before it gets its name (default true). */
  fsync?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: UploadProgress) => void;
}

export interface DownloadResult {
  /** Name the file was written under (its last path component). */
  name: string;
  path: string;
  size: number;
  sha256: string;
  durationMs: number;
  outcome: LocalOutcome;
}

/**
 * Downloads a stored file: bytes go to a hidden temp file in `dir`, hashed as they arrive, and
 * only a download whose size and SHA-256 match the server's GET_END gets its final name. The
 * local name is the one *we* asked for, checked here; nothing the server says picks a path.
 */
export async function download(wire: Wire, name: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  wire.require(CAPABILITIES.DOWNLOAD, "downloads");
  const problem = pathProblem(name);
  if (problem) throw new ClientError(`${JSON.stringify(name)}: ${problem}`, { code: "BAD_NAME" });
  if (name.includes("/")) wire.require(CAPABILITIES.FOLDERS, "folders");
  const { signal, onProgress } = options;
  const base = path.resolve(options.dir ?? ".");
  // "photos/2024/a.jpg" lands in base/photos/2024/a.jpg; the path was checked component by component.
  const slash = name.lastIndexOf("/");
  const dir = slash < 0 ? base : path.join(base, ...name.slice(0, slash).split("/"));
  const fileName = name.slice(slash + 1);
  const policy = options.onConflict ?? "fail";
  throwIfAborted(signal);
  await mkdir(dir, { recursive: true }).catch((cause: unknown) => {
    throw new ClientError(`cannot create ${dir}: ${(cause as Error).message}`, { code: "LOCAL_FILE_ERROR", cause });
  });
  const startedAt = performance.now();
  const tempPath = localTempPath(dir);
  const out = createWriteStream(tempPath, { flags: "wx", mode: 0o644, highWaterMark: 4 * 1024 * 1024 });
  let writeError: Error | undefined;
  out.on("error", (error) => (writeError ??= error));
  const id = wire.nextId();
  const hash = createHash("sha256");
  let expected = -1;
  let received = 0;
  const finished = new Promise<string>((resolve, reject) => {
    wire.register(id, {
      onMessage(message) {
        if (message.type === "get_begin") {
          if (message.name !== name) throw new ClientError(`server answered GET ${name} with ${JSON.stringify(message.name)}`, { code: "PROTOCOL_ERROR" });
          expected = message.size;
          onProgress?.({ bytes: 0, total: expected });
          return false;
        }
        if (message.type === "get_end" && expected >= 0) {
          if (received !== expected) throw new ClientError(`server sent ${received} of ${expected} bytes`, { code: "PROTOCOL_ERROR" });
          const sha256 = hash.digest("hex");
          if (sha256 !== message.sha256) reject(new ClientError(`SHA-256 of the received bytes is ${sha256}, the server says ${message.sha256}`, { code: "CHECKSUM_MISMATCH" }));
          else resolve(sha256);
          return true;
        }
        throw new ClientError(`unexpected ${message.type} during a download`, { code: "PROTOCOL_ERROR" });
      },
      onData(payload) {
        received += payload.length;
        if (expected < 0 || received > expected) {
          reject(new ClientError("server sent more bytes than it announced", { code: "PROTOCOL_ERROR" }));
          wire.die(new ClientError("server sent more bytes than it announced", { code: "PROTOCOL_ERROR" }));
          return;
        }
        hash.update(payload);
        // The disk sets the pace: stop reading the socket while the write queue is full.
        if (!out.write(payload)) {
          wire.pauseReading();
          out.once("drain", () => wire.resumeReading());
        }
        onProgress?.({ bytes: received, total: expected });
      },
      onError: reject,
    });
  });
  finished.catch(() => undefined);
  try {
    const release = await wire.lock.acquire();
    try {
      wire.send({ type: "get", id, name });
    } finally {
      release();
    }
    const sha256 = await raceAbort(finished, signal);
    await closeStream(out, options.fsync ?? true, tempPath);
    if (writeError) throw writeError;
    const published = await publishLocal(tempPath, dir, fileName, policy);
    return { name: published.name, path: path.join(dir, published.name), size: received, sha256, durationMs: performance.now() - startedAt, outcome: published.outcome };
  } catch (error) {
    wire.unregister(id);
    wire.resumeReading();
    out.destroy();
    await unlink(tempPath).catch(() => undefined);
    if (error instanceof ClientError) throw error;
    throw new ClientError(`cannot write ${name}: ${(error as Error).message}`, { code: "LOCAL_FILE_ERROR", cause: error });
  }
}

/** Flushes and closes the download's stream, then fsyncs the file so its name never outruns its bytes. */
async function closeStream(out: ReturnType<typeof createWriteStream>, fsync: boolean, file: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    out.once("error", reject);
    out.end(() => resolve());
  });
  if (!fsync) return;
  const handle = await open(file, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
