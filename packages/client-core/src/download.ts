import { createHash } from "node:crypto";
import { lstatSync } from "node:fs";
import { makeDirectories } from "@ferry/node-io";
import path from "node:path";
import { CAPABILITIES, DIGEST_NAMES, type ConflictPolicy, type FileDigest, type PublishOutcome } from "@ferry/protocol";
import { raceAbort, throwIfAborted } from "./abort.js";
import { ClientError } from "./errors.js";
import { LocalPartial } from "./local-partial.js";
import { publishLocal } from "./local-publish.js";
import type { UploadProgress } from "./upload.js";
import type { Wire } from "./wire.js";

export interface DownloadOptions {
  /** Directory to write into (created if missing). Default: the current directory. */
  dir?: string;
  /** What to do when the local name is taken. Default "fail". */
  onConflict?: ConflictPolicy;
  /** fsync the file before it gets its name (default true). */
  fsync?: boolean;
  /** Continue an interrupted download of the same file into the same folder (default true). */
  resume?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: UploadProgress) => void;
}

export interface DownloadResult {
  /** Name the file was written under (its last path component). */
  name: string;
  path: string;
  size: number;
  /** What GET_END carried and the bytes were checked against (the connection's digest); null when skipped. */
  digest: FileDigest | null;
  durationMs: number;
  outcome: PublishOutcome;
  /** Bytes an earlier, interrupted attempt had already written (0: downloaded in full). */
  resumedFrom: number;
}

/**
 * Downloads a stored file: bytes go to a hidden temp file in `dir`, hashed as they arrive, and
 * only a download whose size and digest (the connection's: SHA-256 unless BLAKE3 was negotiated) match the server's GET_END gets its final name. The
 * local name is the one *we* asked for, checked here; nothing the server says picks a path.
 */
export async function download(wire: Wire, name: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  wire.require(CAPABILITIES.DOWNLOAD, "downloads");
  wire.checkName(name);
  const { signal, onProgress } = options;
  const base = path.resolve(options.dir ?? ".");
  // "photos/2024/a.jpg" lands in base/photos/2024/a.jpg; the path was checked component by component.
  const slash = name.lastIndexOf("/");
  const dir = slash < 0 ? base : path.join(base, ...name.slice(0, slash).split("/"));
  const fileName = name.slice(slash + 1);
  const policy = options.onConflict ?? "fail";
  throwIfAborted(signal);
  // Synchronous metadata calls, once per file of a folder (docs/performance.md, "Synchronous metadata calls").
  try {
    makeDirectories(dir);
  } catch (cause) {
    throw new ClientError(`cannot create ${dir}: ${(cause as Error).message}`, { code: "LOCAL_FILE_ERROR", cause });
  }
  // fail and skip are decided before a byte moves.
  if (policy === "fail" || policy === "skip") {
    // A local folder of that name is not decided here: the name may be a folder on the server too
    // (`get docs` twice), and a file is never published over a folder anyway (local-publish.ts).
    const existing = lstatSync(path.join(dir, fileName), { throwIfNoEntry: false });
    const taken = existing !== undefined && !existing.isDirectory();
    if (taken && policy === "fail") {
      throw new ClientError(`${path.join(dir, fileName)} already exists`, { code: "ALREADY_EXISTS" });
    }
    if (taken) return { name: fileName, path: path.join(dir, fileName), size: 0, digest: null, durationMs: 0, outcome: "skipped", resumedFrom: 0 };
  }
  const startedAt = performance.now();
  const resume = options.resume !== false && wire.supports(CAPABILITIES.RESUME);
  // Not tied to one server: a download cut from one server of a cluster resumes from another (the
  // chunk digests catch a different file under the same name).
  const key = createHash("sha256").update([name, path.resolve(dir)].join("\0")).digest("hex").slice(0, 40);
  const partial = await LocalPartial.open(dir, key, name, !resume, wire.digest);
  let expected = -1;
  let resumedFrom = 0;
  const request = wire.request<string>({
    onMessage(message) {
      if (message.type === "get_begin") {
        if (message.name !== name) throw new ClientError(`server answered GET ${name} with ${JSON.stringify(message.name)}`, { code: "PROTOCOL_ERROR" });
        expected = message.size;
        resumedFrom = message.offset ?? 0;
        partial.startAt(resumedFrom, expected); // throws PROTOCOL_ERROR for an offset never offered
        onProgress?.({ bytes: resumedFrom, total: expected });
        return { kind: "more" };
      }
      if (message.type === "get_end" && expected >= 0) {
        if (partial.bytes !== expected) throw new ClientError(`server sent ${partial.bytes} of ${expected} bytes`, { code: "PROTOCOL_ERROR" });
        const sha256 = partial.digest();
        if (sha256 === message.sha256) return { kind: "done", value: sha256 };
        return {
          kind: "failed",
          error: new ClientError(`${DIGEST_NAMES[wire.digest]} of the received bytes is ${sha256}, the server says ${message.sha256}`, { code: "CHECKSUM_MISMATCH" }),
        };
      }
      throw new ClientError(`unexpected ${message.type} during a download`, { code: "PROTOCOL_ERROR" });
    },
    onData(payload) {
      if (expected < 0 || partial.bytes + payload.length > expected) {
        throw new ClientError("server sent more bytes than it announced", { code: "PROTOCOL_ERROR" });
      }
      // Queued behind the truncate; the disk sets the pace: stop reading while the queue is full.
      if (!partial.write(payload)) {
        wire.pauseReading();
        void partial.drained().then(() => wire.resumeReading());
      }
      onProgress?.({ bytes: partial.bytes, total: expected });
    },
  });
  try {
    await request.turn();
    const offer = resume && partial.chunks.length > 0 ? { resume: { chunkSize: partial.chunkSize, chunks: partial.chunks } } : {};
    request.send({ type: "get", id: request.id, name, ...offer });
    request.doneSending();
    const sha256 = await raceAbort(request.answer, signal);
    await partial.finish(options.fsync ?? true);
    const published = publishLocal(partial.path, dir, fileName, policy);
    await partial.release(); // the journal, if any (the data file now has its real name)
    return {
      name: published.name,
      path: path.join(dir, published.name),
      size: expected,
      digest: { algorithm: wire.digest, hex: sha256 },
      durationMs: performance.now() - startedAt,
      outcome: published.outcome,
      resumedFrom,
    };
  } catch (error) {
    request.abandon();
    wire.resumeReading();
    // Lost connection or Ctrl+C: keep what arrived for the next attempt. Bad bytes or a lying
    // server: throw it away.
    const keep = resume && error instanceof ClientError && (error.code === "ABORTED" || error.code === "CONNECTION_CLOSED");
    if (keep) await partial.suspend();
    else await partial.remove();
    if (error instanceof ClientError) throw error;
    throw new ClientError(`cannot write ${name}: ${(error as Error).message}`, { code: "LOCAL_FILE_ERROR", cause: error });
  }
}
