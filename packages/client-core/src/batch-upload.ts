import { digestOf } from "@ferry/node-io";
import {
  CAPABILITIES,
  LIMITS,
  encodeData,
  type BatchFile,
  type BatchStoredMessage,
  type ConflictPolicy,
} from "@ferry/protocol";
import { raceAbort, throwIfAborted } from "./abort.js";
import { readBatchFiles } from "./batch-files.js";
import { ClientError } from "./errors.js";
import type { UploadResult } from "./upload.js";
import type { Wire } from "./wire.js";

/** A local file for a batch, and the name it gets on the server. */
export interface BatchEntry {
  localPath: string;
  name: string;
  /** The size the caller listed, if it has one: the file is then read without an fstat (batch-files.ts). */
  size?: number;
}

export interface BatchOptions {
  onConflict?: ConflictPolicy;
  /** As UploadOptions.skipIdentical, for every file of the batch. */
  skipIdentical?: boolean;
  signal?: AbortSignal;
}

/**
 * Splits small files into PUT_BATCH-sized groups: at most MAX_BATCH_FILES each, and few enough
 * that the message stays within 8 KiB of JSON (names are what make it grow).
 */
export function groupForBatches<T extends { name: string }>(files: T[]): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let bytes = 64; // {"type":"put_batch","id":…,"files":[…],"onConflict":…}
  for (const file of files) {
    // One entry: {"name":…,"size":65536,"sha256":"<64 hex>"}, names JSON-escaped (×6 at worst).
    const entry = 100 + Buffer.byteLength(JSON.stringify(file.name));
    if (group.length > 0 && (group.length === LIMITS.MAX_BATCH_FILES || bytes + entry > LIMITS.MAX_BATCH_PAYLOAD)) {
      groups.push(group);
      group = [];
      bytes = 64;
    }
    group.push(file);
    bytes += entry;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * Uploads small files (each at most 64 KiB) in one PUT_BATCH: the files are read and hashed
 * first, then the request and their bytes leave together, and one BATCH_STORED answers for all.
 * A folder of 4 KiB files pays one request, one answer and one round of fsyncs per batch instead
 * of per file. Resolves with one result per file, in order: what was stored, or why not. A file
 * that cannot be read locally fails alone; a lost connection rejects the whole batch.
 */
export async function uploadBatch(wire: Wire, entries: BatchEntry[], options: BatchOptions = {}): Promise<(UploadResult | ClientError)[]> {
  wire.require(CAPABILITIES.BATCH, "batches of small files");
  const { signal, onConflict } = options;
  if (onConflict !== undefined && onConflict !== "rename") wire.require(CAPABILITIES.CONFLICT, `onConflict "${onConflict}"`);
  const results: (UploadResult | ClientError | undefined)[] = entries.map(() => undefined);
  const sent: { index: number; file: BatchFile; bytes: Buffer }[] = [];
  const named: number[] = [];
  entries.forEach((entry, index) => {
    try {
      wire.checkName(entry.name); // BAD_NAME, or a folder path the server cannot take: this file alone fails
      named.push(index);
    } catch (error) {
      results[index] = error as ClientError;
    }
  });
  if (named.length === 0) return results as (UploadResult | ClientError)[];
  const request = wire.request<BatchStoredMessage>({
    onMessage(message) {
      if (message.type !== "batch_stored") throw new ClientError(`unexpected ${message.type} for a batch`, { code: "PROTOCOL_ERROR" });
      if (message.results.length !== sent.length) {
        throw new ClientError(`server answered ${message.results.length} of ${sent.length} files`, { code: "PROTOCOL_ERROR" });
      }
      return { kind: "done", value: message };
    },
  });
  try {
    await request.turn();
    const startedAt = performance.now();
    throwIfAborted(signal);
    wire.assertOpen();
    // Read and hashed once the wire is this batch's: with many batches queued, each reads its files
    // as the one before it leaves, not all of them before the first can go (docs/performance.md, "W2, third session").
    const read = readBatchFiles(named.map((index) => entries[index]!));
    read.files.forEach((bytes, i) => {
      const index = named[i]!;
      if (bytes instanceof ClientError) results[index] = bytes;
      else sent.push({ index, file: { name: entries[index]!.name, size: bytes.length, sha256: digestOf(wire.digest, bytes) }, bytes });
    });
    if (sent.length === 0) {
      request.abandon(); // nothing of it went out: the turn passes on
      return results as (UploadResult | ClientError)[];
    }
    request.send({
      type: "put_batch",
      id: request.id,
      files: sent.map((s) => s.file),
      ...(onConflict && wire.supports(CAPABILITIES.CONFLICT) ? { onConflict } : {}),
      ...(options.skipIdentical && wire.supports(CAPABILITIES.UNCHANGED) ? { skipIdentical: true as const } : {}),
    });
    // The files' bytes back to back, in as few DATA frames as the server's limit allows.
    const all = read.joined(sent.map((s) => s.bytes));
    const maxFrame = wire.frameSize();
    for (let at = 0; at < all.length; at += maxFrame) {
      request.sendFrame(encodeData(all.subarray(at, Math.min(all.length, at + maxFrame))));
      if (wire.needsDrain) await wire.drained(signal);
    }
    request.doneSending();
    const stored = await raceAbort(request.answer, signal);
    const durationMs = performance.now() - startedAt;
    stored.results.forEach((result, i) => {
      const { index, file } = sent[i]!;
      results[index] =
        "code" in result
          ? new ClientError(result.message, { code: result.code })
          : { name: result.name, requestedName: file.name, size: file.size, digest: { algorithm: wire.digest, hex: file.sha256 }, durationMs, outcome: result.outcome, resumedFrom: 0 };
    });
    return results as (UploadResult | ClientError)[];
  } catch (error) {
    // Stopped part-way through the bytes (an abort while waiting for the socket): the server would
    // wait for the rest, so it is told to drop the batch (CANCEL). Its answer is no longer awaited.
    request.abandon();
    throw error;
  }
}
