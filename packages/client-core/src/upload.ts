import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import path from "node:path";
import { CAPABILITIES, LIMITS, encodeData, type ConflictPolicy, type DigestAlgorithm, type FileDigest, type PublishOutcome, type PutOfferMessage, type StoredMessage } from "@ferry/protocol";
import { throwIfAborted } from "./abort.js";
import { ClientError, InterruptedUpload } from "./errors.js";
import { createHasher, digestPrefix, type Hasher } from "@ferry/node-io";
import { FileChunks } from "./file-chunks.js";
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
  /**
   * When the name already holds these very bytes (same size, same recorded SHA-256), keep that file
   * and report outcome "unchanged" instead of storing a copy (servers announcing "unchanged"; ignored
   * by others). Default false.
   */
  skipIdentical?: boolean;
  signal?: AbortSignal;
  /** Called after each chunk is handed to the socket. */
  onProgress?: (progress: UploadProgress) => void;
  /** A resumable upload re-reads the `bytes` the server already holds, to check them, before sending. */
  onCheck?: (bytes: number) => void;
  /**
   * Resumable files (default true, for files of 16 MiB and more on servers announcing "resume"):
   * an interrupted attempt leaves a partial on the server that the next attempt continues.
   */
  resume?: boolean;
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
  /** Computed here while sending and confirmed by the server, in the connection's digest (SHA-256 unless BLAKE3 was negotiated). */
  digest: FileDigest;
  durationMs: number;
  /** What happened to the name; "skipped" means the server kept its existing file. */
  outcome: PublishOutcome;
  /** Bytes the server already held from an interrupted attempt (0: sent in full). */
  resumedFrom: number;
}

/** Files up to this size are read in one call rather than streamed. */
const SMALL_READ = 256 * 1024;
const SMALL_FILE_BYTES = 64 * 1024;
/** Below this, resuming is not worth its extra round trip. */
const RESUME_THRESHOLD = 16 * 1024 * 1024;
const MiB = 1024 * 1024;

/**
 * The same file, sent to the same name, gets the same key in every attempt, which is how a re-run
 * finds the partial the last one left. Which server is not part of the key: servers sharing a
 * cluster store resume each other's uploads (docs/scale-out.md), and a server that never saw the
 * key simply starts a new one. Content is not part of it either: a changed file is caught by the
 * chunk digests instead.
 */
function resumeKey(filePath: string, name: string, size: number): string {
  const identity = [path.resolve(filePath), name, size].join("\0");
  return createHash("sha256").update(identity).digest("hex").slice(0, 40);
}

/** Uploads a local file, streaming it with SHA-256 computed on the way. */
export async function uploadFile(wire: Wire, filePath: string, options: UploadOptions): Promise<UploadResult> {
  // macOS file systems hand out NFD names; the wire carries NFC (docs/protocol.md §6).
  const name = options.name ?? path.basename(filePath).normalize("NFC");
  // Synchronous open, fstat, read and close (docs/performance.md, "Synchronous metadata calls"). Larger files
  // are read asynchronously, in a buffer pool.
  let fd: number | undefined;
  try {
    fd = openSync(filePath, "r");
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error("not a regular file");
    if (stat.size <= SMALL_FILE_BYTES) {
      // One read, no stream: the stream's set-up and its extra end-of-file read cost more than the file.
      const data = Buffer.allocUnsafe(stat.size);
      const bytesRead = readSync(fd, data, 0, stat.size, 0);
      closeSync(fd);
      fd = undefined;
      return await uploadStream(wire, [data.subarray(0, bytesRead)], { ...options, name, size: stat.size });
    }
    // Larger files are read through this same descriptor (closed below once the transfer ends), so
    // the bytes sent come from the file that was measured, even if the path is replaced meanwhile.
    if (stat.size >= RESUME_THRESHOLD && wire.supports(CAPABILITIES.RESUME)) {
      return await transfer(wire, { ...options, name, size: stat.size }, {
        kind: "resumable",
        fd,
        key: resumeKey(filePath, name, stat.size),
        // resume: false starts over under the same key, so the server replaces the stale partial
        // (PUT_FROM 0 truncates it) instead of keeping it until it expires.
        startOver: options.resume === false,
        // 8 MiB chunks, larger for huge files so the offer's digest list stays within 512 entries.
        chunkSize: Math.min(LIMITS.MAX_RESUME_CHUNK, Math.max(8 * MiB, Math.ceil(stat.size / LIMITS.MAX_RESUME_CHUNKS / MiB) * MiB)),
      });
    }
    return await transfer(wire, { ...options, name, size: stat.size }, { kind: "file", fd });
  } catch (error) {
    if (error instanceof ClientError) throw error;
    throw new ClientError(`cannot read ${filePath}: ${(error as Error).message}`, { code: "LOCAL_FILE_ERROR", cause: error });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Uploads `size` bytes from any byte stream (a Readable, a generator, an array of buffers…). */
export function uploadStream(
  wire: Wire,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: StreamUploadOptions,
): Promise<UploadResult> {
  return transfer(wire, options, { kind: "stream", source });
}

/** Where an upload's bytes come from: any stream, or a file that can be re-read to resume. */
type Body =
  | { kind: "stream"; source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> }
  | { kind: "file"; fd: number }
  | { kind: "resumable"; fd: number; key: string; chunkSize: number; startOver: boolean };

async function transfer(wire: Wire, options: StreamUploadOptions, body: Body): Promise<UploadResult> {
  const { name, size, signal, onProgress, onConflict } = options;
  wire.checkName(name);
  if (size > wire.server.limits.maxFileSize) {
    throw new ClientError(`${size} bytes exceeds the server's limit of ${wire.server.limits.maxFileSize}`, { code: "FILE_TOO_LARGE" });
  }
  if (onConflict !== undefined && onConflict !== "rename") wire.require(CAPABILITIES.CONFLICT, `onConflict "${onConflict}"`);
  let offered: (offer: PutOfferMessage) => void = () => undefined;
  const offer = new Promise<PutOfferMessage>((resolve) => (offered = resolve));
  const request = wire.request<StoredMessage>({
    onMessage(message) {
      if (message.type === "put_offer" && body.kind === "resumable") {
        offered(message);
        return { kind: "more" };
      }
      if (message.type !== "stored") throw new ClientError(`unexpected ${message.type} for an upload`, { code: "PROTOCOL_ERROR" });
      return { kind: "done", value: message };
    },
  });
  const { id } = request;
  // Bytes handed to the socket so far: an interrupted resumable upload reports how far it got.
  let sent = 0;
  try {
    await request.turn();
    const startedAt = performance.now();
    throwIfAborted(signal);
    wire.assertOpen();
    const resume = body.kind === "resumable" ? { key: body.key, chunkSize: body.chunkSize } : undefined;
    request.send({
      type: "put",
      id,
      name,
      size,
      ...(onConflict && wire.supports(CAPABILITIES.CONFLICT) ? { onConflict } : {}),
      ...(options.skipIdentical && wire.supports(CAPABILITIES.UNCHANGED) ? { skipIdentical: true as const } : {}),
      ...(resume ? { resume } : {}),
    });
    let hash = createHasher(wire.digest);
    let source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
    // File bytes come from a small pool of buffers, each reused once the socket has sent it.
    let pool: FileChunks | undefined;
    if (body.kind === "resumable") {
      // One round trip: the server says what it holds; we check it against our file, chunk by chunk.
      const offered = await Promise.race([offer, request.answer.then(() => never())]);
      if (offered.offset > 0 && !body.startOver) options.onCheck?.(offered.offset);
      const verified = body.startOver ? { hash: createHasher(wire.digest), from: 0 } : await verifyOffer(body, offered, wire.digest);
      ({ hash, from: sent } = verified);
      request.send({ type: "put_from", id, offset: sent });
      source = pool = new FileChunks(body.fd, { start: sent, end: size }, wire.frameSize());
    } else if (body.kind === "file") {
      // Buffers no larger than the file (1 MiB for a 100 KiB file would be waste), and for files
      // under 4 MiB no larger than 256 KiB: many small uploads at once each hold a buffer until
      // the socket has taken it. With 200 connections of 1 MiB files (W4), 1 MiB buffers put
      // the client at 210 MiB peak RSS, 256 KiB ones at 149. Larger files keep full-size frames.
      const readSize = size < 4 * MiB ? Math.min(SMALL_READ, Math.max(size, 16 * 1024)) : wire.frameSize();
      source = pool = new FileChunks(body.fd, { start: 0, end: size }, Math.min(readSize, wire.frameSize()));
    } else {
      source = body.source;
    }
    const resumedFrom = sent;
    let localSha = "";
    const maxFrame = wire.frameSize();
    for await (const chunk of source) {
      if (request.settled) break; // the server refused early (BAD_NAME, SIZE_MISMATCH…)
      throwIfAborted(signal);
      for (let at = 0; at < chunk.length; at += maxFrame) {
        const piece = chunk.subarray(at, Math.min(chunk.length, at + maxFrame));
        sent += piece.length;
        if (sent > size) throw new ClientError(`source grew beyond the declared ${size} bytes`, { code: "SOURCE_CHANGED" });
        hash.update(piece);
        const last = at + maxFrame >= chunk.length;
        request.sendFrame(encodeData(piece), pool && last ? () => pool.release(chunk as Buffer) : undefined);
        if (wire.needsDrain) await wire.drained(signal);
      }
      onProgress?.({ bytes: sent, total: size });
    }
    if (request.settled) {
      request.send({ type: "cancel", id }); // ends the server's discarding of this upload's DATA
    } else {
      if (sent !== size) throw new ClientError(`source yielded ${sent} of the declared ${size} bytes`, { code: "SOURCE_CHANGED" });
      localSha = hash.digest("hex");
      request.send({ type: "put_end", id, sha256: localSha });
    }
    request.doneSending();
    // Every byte and PUT_END are out: the server decides now, and its answer is the truth to report.
    // An abort no longer races it (a file the server stored is never reported as aborted); a lost
    // connection still ends the wait.
    const stored = await request.answer;
    if (stored.size !== size || stored.sha256 !== localSha) {
      throw new ClientError("server confirmed a different file than was sent", { code: "CHECKSUM_MISMATCH" });
    }
    return {
      name: stored.name,
      requestedName: name,
      size: stored.size,
      digest: { algorithm: wire.digest, hex: stored.sha256 },
      durationMs: performance.now() - startedAt,
      outcome: stored.outcome ?? (stored.name === name ? "created" : "renamed"),
      resumedFrom,
    };
  } catch (error) {
    const aborted = error instanceof ClientError && error.code === "ABORTED";
    // Aborted mid-send, a resumable upload hangs up instead of cancelling: its partial stays on the
    // server for next time. Otherwise the server is told to drop it (its late answer is ignored).
    const keep = body.kind === "resumable" && aborted;
    request.abandon(keep ? { hangUp: error } : {});
    // Prefer the server's reason (BAD_NAME…) over a local consequence of it, unless we aborted.
    const refusal = request.refusal;
    if (refusal && !aborted) throw refusal;
    if (keep) throw new InterruptedUpload(name, sent);
    if (error instanceof ClientError) throw error;
    throw new ClientError((error as Error).message ?? String(error), { code: "LOCAL_FILE_ERROR", cause: error });
  }
}

function never(): never {
  throw new ClientError("server answered a resumable PUT without an offer", { code: "PROTOCOL_ERROR" });
}

/**
 * Checks the server's offer against the local file: each offered chunk is read and hashed here
 * and must match the server's digest. The first chunk that differs (the source changed since the
 * interruption) makes the upload start over from 0. The same read feeds the whole-file hash.
 */
async function verifyOffer(body: Extract<Body, { kind: "resumable" }>, offer: PutOfferMessage, algorithm: DigestAlgorithm): Promise<{ hash: Hasher; from: number }> {
  if (offer.offset > 0) {
    const prefix = await digestPrefix(body.fd, { chunkSize: body.chunkSize, end: offer.offset, expected: offer.chunks, algorithm });
    if (prefix.bytes === offer.offset) return { hash: await prefix.hasherAt(prefix.digests.length), from: offer.offset };
  }
  return { hash: createHasher(algorithm), from: 0 };
}
