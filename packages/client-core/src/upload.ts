import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import path from "node:path";
import { CAPABILITIES, encodeData, pathProblem, type ConflictPolicy, type StoredMessage } from "@ferry/protocol";
import { raceAbort, throwIfAborted } from "./abort.js";
import { ClientError } from "./errors.js";
import type { Wire } from "./wire.js";

export interface UploadProgress {
  /** Bytes handed to the socket (or written to disk, for downloads) so far. */
  bytes: number;
  /** Bytes in the whole file. */
  total: number;
}

export interface UploadOptions {
  /** Name to store under; defaults to the file's base name. */
  name?: string;
  /** What the server does when the name is taken (default "rename"; needs the "conflict" capability otherwise). */
  onConflict?: ConflictPolicy;
  signal?: AbortSignal;
  /** Called after each chunk is handed to the socket. */
  onProgress?: (progress: UploadProgress) => void;
}

export interface StreamUploadOptions extends UploadOptions {
  name: string;
  /** Exact byte count the stream will yield; a mismatch fails with SOURCE_CHANGED. */
  size: number;
}

export interface UploadResult {
  /** Name the server stored the file under (may be "name (1).ext" when taken). */
  name: string;
  requestedName: string;
  size: number;
  /** SHA-256, computed here while sending and confirmed by the server. */
  sha256: string;
  durationMs: number;
  /** What happened to the name; "skipped" means the server kept its existing file. */
  outcome: "created" | "renamed" | "overwritten" | "skipped";
}

/** Files up to this size are read in one call rather than streamed. */
const SMALL_FILE_BYTES = 64 * 1024;

/** Uploads a local file, streaming it with SHA-256 computed on the way. */
export async function uploadFile(wire: Wire, filePath: string, options: UploadOptions): Promise<UploadResult> {
  const name = options.name ?? path.basename(filePath);
  let handle;
  try {
    handle = await open(filePath, "r");
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error("not a regular file");
    if (stat.size <= SMALL_FILE_BYTES) {
      // One read, no stream: for folders of small files the stream's set-up and its extra
      // end-of-file read were a large share of the client's per-file cost.
      const data = Buffer.allocUnsafe(stat.size);
      const { bytesRead } = await handle.read(data, 0, stat.size, 0);
      await handle.close();
      handle = undefined;
      return await uploadStream(wire, [data.subarray(0, bytesRead)], { ...options, name, size: stat.size });
    }
    // The read size is the frame size, but never more than the file: a stream allocates a whole
    // high-water-mark buffer per read, and 1 MiB per 4 KiB file made the GC the bottleneck
    // for folders of small files (about a third of the client's time in the W2 profile).
    const readSize = Math.min(wire.frameSize(), Math.max(stat.size, 16 * 1024));
    const source = handle.createReadStream({ highWaterMark: readSize });
    handle = undefined; // the stream owns and closes it now
    try {
      return await uploadStream(wire, source, { ...options, name, size: stat.size });
    } finally {
      source.destroy();
    }
  } catch (error) {
    if (error instanceof ClientError) throw error;
    throw new ClientError(`cannot read ${filePath}: ${(error as Error).message}`, { code: "LOCAL_FILE_ERROR", cause: error });
  } finally {
    await handle?.close();
  }
}

/** Uploads `size` bytes from any byte stream (a Readable, a generator, an array of buffers…). */
export async function uploadStream(
  wire: Wire,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: StreamUploadOptions,
): Promise<UploadResult> {
  const { name, size, signal, onProgress, onConflict } = options;
  const problem = pathProblem(name);
  if (problem) throw new ClientError(`${JSON.stringify(name)}: ${problem}`, { code: "BAD_NAME" });
  if (name.includes("/")) wire.require(CAPABILITIES.FOLDERS, "folders");
  if (size > wire.server.limits.maxFileSize) {
    throw new ClientError(`${size} bytes exceeds the server's limit of ${wire.server.limits.maxFileSize}`, { code: "FILE_TOO_LARGE" });
  }
  if (onConflict !== undefined && onConflict !== "rename") wire.require(CAPABILITIES.CONFLICT, `--on-conflict ${onConflict}`);
  const release = await wire.lock.acquire();
  const startedAt = performance.now();
  const id = wire.nextId();
  let settled = false;
  let refusal: ClientError | undefined;
  let doneSending = false; // PUT_END or CANCEL is on the wire and the send lock released
  try {
    throwIfAborted(signal);
    wire.assertOpen();
    const response = new Promise<StoredMessage>((resolve, reject) => {
      wire.register(id, {
        onMessage(message) {
          settled = true;
          if (message.type !== "stored") throw new ClientError(`unexpected ${message.type} for an upload`, { code: "PROTOCOL_ERROR" });
          resolve(message);
          return true;
        },
        onError(error) {
          settled = true;
          refusal = error;
          reject(error);
        },
      });
    });
    response.catch(() => undefined); // observed below; avoid an unhandled rejection meanwhile
    wire.send({ type: "put", id, name, size, ...(onConflict && wire.supports(CAPABILITIES.CONFLICT) ? { onConflict } : {}) });
    const hash = createHash("sha256");
    let localSha = "";
    const maxFrame = wire.frameSize();
    let sent = 0;
    for await (const chunk of source) {
      if (settled) break; // the server refused early (BAD_NAME, SIZE_MISMATCH…)
      throwIfAborted(signal);
      for (let at = 0; at < chunk.length; at += maxFrame) {
        const piece = chunk.subarray(at, Math.min(chunk.length, at + maxFrame));
        sent += piece.length;
        if (sent > size) throw new ClientError(`source grew beyond the declared ${size} bytes`, { code: "SOURCE_CHANGED" });
        hash.update(piece);
        wire.writeFrame(encodeData(piece));
        if (wire.needsDrain) await wire.drained(signal);
      }
      onProgress?.({ bytes: sent, total: size });
    }
    if (settled) {
      wire.send({ type: "cancel", id });
    } else {
      if (sent !== size) throw new ClientError(`source yielded ${sent} of the declared ${size} bytes`, { code: "SOURCE_CHANGED" });
      localSha = hash.digest("hex");
      wire.send({ type: "put_end", id, sha256: localSha });
    }
    doneSending = true;
    release();
    const stored = await raceAbort(response, signal);
    if (stored.size !== size || stored.sha256 !== localSha) {
      throw new ClientError("server confirmed a different file than was sent", { code: "CHECKSUM_MISMATCH" });
    }
    return {
      name: stored.name,
      requestedName: name,
      size: stored.size,
      sha256: stored.sha256,
      durationMs: performance.now() - startedAt,
      outcome: stored.outcome ?? (stored.name === name ? "created" : "renamed"),
    };
  } catch (error) {
    if (!doneSending) {
      // Tell the server to drop the partial upload; its late answer for this id is ignored.
      if (!wire.fatal) {
        try {
          wire.send({ type: "cancel", id });
        } catch {
          // the connection is gone; nothing to cancel
        }
      }
      wire.unregister(id);
      release();
    }
    // Prefer the server's reason (BAD_NAME…) over a local consequence of it, unless we aborted.
    if (refusal && !(error instanceof ClientError && error.code === "ABORTED")) throw refusal;
    if (error instanceof ClientError) throw error;
    throw new ClientError((error as Error).message ?? String(error), { code: "LOCAL_FILE_ERROR", cause: error });
  }
}
