import { Readable } from "node:stream";
import contentDisposition from "content-disposition";
import parseRange from "range-parser";
import type { StoredReader } from "@ferry/server-core";

/** Bytes read from storage per chunk of a response body (the same 1 MiB the TCP side sends per DATA frame). */
const READ_CHUNK = 1024 * 1024;

/** What a file download answers: status, headers, and which bytes of the file follow. */
export interface FilePlan {
  status: 200 | 206 | 304 | 416;
  headers: Record<string, string>;
  /** Byte range [start, end] inclusive to send; null: no body. */
  range: { start: number; end: number } | null;
}

/**
 * The ETag of a stored version: its SHA-256 (strong; a file sent over a BLAKE3 connection: "b3-"
 * and its BLAKE3), or size and mtime for a file Ferry never verified (weak).
 */
export function etagOf(file: Pick<StoredReader, "digest" | "size" | "mtime">): string {
  if (!file.digest) return `W/"${file.size.toString(16)}-${file.mtime.toString(16)}"`;
  return file.digest.algorithm === "sha256" ? `"${file.digest.hex}"` : `"b3-${file.digest.hex}"`;
}

/**
 * RFC 9110 for one stored file: If-None-Match (304), Range with If-Range (206, or the whole file
 * when If-Range names another version), 416 for a range past the end; several ranges are answered
 * with the whole file, which RFC 9110 §14.2 allows. The file is always an attachment
 * (Content-Disposition per RFC 6266 with a UTF-8 filename*), with its recorded digest as ETag and its SHA-256 as
 * Repr-Digest (RFC 9530) and Digest (RFC 3230, for older tools).
 */
export function planFileResponse(file: Pick<StoredReader, "digest" | "size" | "mtime">, baseName: string, request: { method: string; range?: string; ifRange?: string; ifNoneMatch?: string }): FilePlan {
  const etag = etagOf(file);
  const headers: Record<string, string> = {
    "content-type": "application/octet-stream",
    "content-disposition": attachment(baseName),
    etag,
    "last-modified": new Date(file.mtime).toUTCString(),
    "accept-ranges": "bytes",
    // A link can be revoked or expire: a cache may keep the bytes but must ask again (cheap: 304 by ETag).
    "cache-control": "private, no-cache",
  };
  // RFC 9530's registry has sha-256 and no BLAKE3: a BLAKE3-recorded file goes without these headers.
  if (file.digest?.algorithm === "sha256") {
    const base64 = Buffer.from(file.digest.hex, "hex").toString("base64");
    headers["repr-digest"] = `sha-256=:${base64}:`;
    headers["digest"] = `SHA-256=${base64}`;
  }
  if (request.ifNoneMatch !== undefined && request.ifNoneMatch.split(",").some((tag) => weakMatch(tag.trim(), etag))) {
    return { status: 304, headers, range: null };
  }
  let range: { start: number; end: number } | null = file.size > 0 ? { start: 0, end: file.size - 1 } : null;
  let status: 200 | 206 | 416 = 200;
  if (request.range !== undefined && (request.ifRange === undefined || ifRangeHolds(request.ifRange, etag, file.mtime))) {
    const ranges = parseRange(file.size, request.range, { combine: true });
    if (ranges === -1) {
      return { status: 416, headers: { ...headers, "content-range": `bytes */${file.size}` }, range: null };
    }
    if (ranges !== -2 && ranges.type === "bytes" && ranges.length === 1) {
      const only = ranges[0]!;
      range = { start: only.start, end: only.end };
      status = 206;
      headers["content-range"] = `bytes ${only.start}-${only.end}/${file.size}`;
    }
  }
  headers["content-length"] = String(range ? range.end - range.start + 1 : 0);
  return { status, headers, range };
}

/**
 * RFC 6266 with RFC 8187: an ASCII filename for old agents ("_" for each other character) and,
 * when that differs, filename*=UTF-8''… with the exact name.
 */
export function attachment(name: string): string {
  return contentDisposition(name, { type: "attachment", fallback: name.replace(/[^\x20-\x7e]/g, "_") });
}

/** If-Range holds when it names this version: the strong ETag exactly, or (as a date) not before its mtime. */
function ifRangeHolds(value: string, etag: string, mtime: number): boolean {
  if (value.startsWith('"') || value.startsWith("W/")) return !etag.startsWith("W/") && value === etag;
  const date = Date.parse(value);
  return Number.isFinite(date) && Math.floor(mtime / 1000) * 1000 <= date;
}

function weakMatch(tag: string, etag: string): boolean {
  return tag === "*" || tag.replace(/^W\//, "") === etag.replace(/^W\//, "");
}

/**
 * The bytes [start, end] of a stored file as a stream that reads only when the response asks
 * (backpressure: a slow visitor holds at most one chunk in memory). Closes the reader when done.
 * `onBytes` counts what was read for the download's event.
 */
export function fileBody(reader: StoredReader, start: number, end: number, onBytes: (n: number) => void): Readable {
  let position = start;
  return new Readable({
    highWaterMark: READ_CHUNK,
    read(this: Readable) {
      if (position > end) {
        this.push(null);
        return;
      }
      const length = Math.min(READ_CHUNK, end - position + 1);
      const buffer = Buffer.allocUnsafe(length);
      reader.read(buffer, length, position).then(
        (read) => {
          if (read === 0) {
            this.destroy(new Error("the stored file shrank while it was being sent"));
            return;
          }
          position += read;
          onBytes(read);
          this.push(read === length ? buffer : buffer.subarray(0, read));
        },
        (error: Error) => this.destroy(error),
      );
    },
    destroy(error, callback) {
      reader.close();
      callback(error);
    },
  });
}
