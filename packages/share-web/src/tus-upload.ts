import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { ServerError, type FerryServer, type ResumableUpload } from "@ferry/server-core";
import type { OpenLink } from "./link-access.js";

/** tus 1.0.0 (https://tus.io/protocols/resumable-upload): the version and extensions this endpoint speaks. */
export const TUS_VERSION = "1.0.0";
export const TUS_EXTENSIONS = "creation";

/**
 * Bytes per journalled chunk of a browser upload: what survives a closed tab is every whole chunk
 * received. The page sends PATCHes of exactly this size, so each request ends on a chunk boundary
 * and nothing is sent twice. 8 MiB: the CLI's smallest resume chunk, and above S3's 5 MiB part minimum.
 */
export const TUS_CHUNK = 8 * 1024 * 1024;

/** An upload's identity as its URL carries it: name and size (JSON, base64url) and a nonce. */
export interface TusUpload {
  name: string;
  size: number;
  nonce: string;
}

export function encodeUploadId(upload: TusUpload): string {
  return Buffer.from(JSON.stringify([upload.name, upload.size, upload.nonce])).toString("base64url");
}

/** The upload an id names, or null for anything that is not one of ours (answered 404). */
export function decodeUploadId(id: string): TusUpload | null {
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(id)) return null;
  try {
    const [name, size, nonce] = JSON.parse(Buffer.from(id, "base64url").toString("utf8")) as unknown[];
    if (typeof name !== "string" || typeof nonce !== "string" || !Number.isSafeInteger(size) || (size as number) < 0) return null;
    return { name, size: size as number, nonce };
  } catch {
    return null;
  }
}

/** Upload-Metadata ("key base64,key base64") as a map of decoded values. */
export function parseUploadMetadata(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of (header ?? "").split(",")) {
    const [key, value] = pair.trim().split(" ");
    if (key) out.set(key, Buffer.from(value ?? "", "base64").toString("utf8"));
  }
  return out;
}

/** Where a link's upload is stored: the link's folder + the name the browser gave. */
export function targetName(link: OpenLink, upload: TusUpload): string {
  return `${link.record.paths[0] ?? ""}${upload.name}`;
}

/**
 * The storage's resumable key (hex, as PUT.resume.key) of an upload: tied to the link, so the same
 * id under another link is another upload. Every server of a cluster derives the same key, so a
 * browser's next PATCH may reach any of them.
 */
export function resumableKey(link: OpenLink, id: string): string {
  return createHash("sha256").update(`${link.record.key}\0${id}`).digest("hex");
}

/** The offset an upload verifiably holds now (HEAD): opened and released at once. */
export async function heldOffset(link: OpenLink, id: string, upload: TusUpload): Promise<number> {
  const { file, offset } = await link.space.storage.openResumable(resumableKey(link, id), { name: targetName(link, upload), size: upload.size, chunkSize: TUS_CHUNK });
  await file.suspend();
  return offset;
}

export interface PatchOutcome {
  /** The offset the upload holds after this request (what Upload-Offset answers). */
  offset: number;
  /** Set once the upload is complete: where it was published and its SHA-256. */
  stored?: { name: string; sha256: string; resumedFrom: number };
}

/**
 * One PATCH: reserves the quota (as a resumed PUT does), continues the storage's resumable upload
 * at the client's Upload-Offset (409 unless that is what it holds), writes the body with
 * backpressure, and at the last byte verifies, counts the file against the link's limits and
 * publishes it under the link's folder with the "rename" policy, atomically. A request cut short
 * keeps every whole chunk for the next PATCH. Throws ServerError (IN_PROGRESS, QUOTA_EXCEEDED,
 * NO_SPACE, BAD_NAME, STORAGE_ERROR…) or HttpRefusal.
 */
export async function receivePatch(server: FerryServer, link: OpenLink, id: string, upload: TusUpload, clientOffset: number, body: IncomingMessage): Promise<PatchOutcome> {
  const { storage, quota } = link.space;
  const key = resumableKey(link, id);
  const name = targetName(link, upload);
  storage.checkName(name);
  const settle = quota ? await quota.reserve(upload.size, key) : () => undefined;
  let file: ResumableUpload | undefined;
  let stored = false;
  /** Discarded or published: nothing is left to keep. */
  let done = false;
  try {
    const opened = await storage.openResumable(key, { name, size: upload.size, chunkSize: TUS_CHUNK });
    file = opened.file;
    if (clientOffset !== opened.offset) throw new HttpRefusal(409, `the upload holds ${opened.offset} bytes, not ${clientOffset}`);
    await storage.ensureRoom(upload.size - opened.offset, server.config.minFreeBytes);
    await file.startAt(opened.offset);
    const received = await pour(body, file, upload.size - opened.offset);
    if (opened.offset + received < upload.size) {
      await file.suspend();
      return { offset: opened.offset + Math.floor(received / TUS_CHUNK) * TUS_CHUNK };
    }
    const sha256 = await file.finish(server.config.fsync);
    if (!(await server.shares!.countUpload(link.record.key, upload.size, Date.now()))) {
      done = true;
      await file.discard();
      throw new HttpRefusal(413, "this link takes no more files or bytes");
    }
    const published = await storage.publish(file, name, "rename", { size: upload.size, digest: { algorithm: "sha256", hex: sha256 } });
    done = true;
    stored = true;
    await file.release();
    return { offset: upload.size, stored: { name: published.name, sha256, resumedFrom: opened.offset } };
  } catch (error) {
    // Anything short of publishing keeps what verifiably arrived, for the next PATCH.
    if (file && !done) await file.suspend().catch(() => undefined);
    throw error;
  } finally {
    settle(stored);
  }
}

/**
 * Writes the request body into `file`, pausing the request while the storage catches up; at most
 * `limit` bytes (more is refused with 413 after keeping what fitted). Resolves with the bytes
 * written when the body ends or the visitor goes away.
 */
async function pour(body: IncomingMessage, file: ResumableUpload, limit: number): Promise<number> {
  let received = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (received + chunk.length > limit) throw new HttpRefusal(413, "more bytes than the upload's length");
      received += chunk.length;
      if (!file.write(chunk)) await file.drained();
    }
  } catch (error) {
    if (error instanceof HttpRefusal || error instanceof ServerError) throw error;
    // The visitor went away mid-request (closed tab, lost network): what arrived is kept.
  }
  await file.drained();
  if (file.error) throw new ServerError(`cannot store the upload: ${file.error.message}`, { code: "STORAGE_ERROR", cause: file.error });
  return received;
}

/** A refusal with an HTTP status of its own (not a storage error). */
export class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
