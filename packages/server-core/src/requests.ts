import type { Socket } from "node:net";
import { BufferPool, createHasher, digestPrefix, type FrameWriter } from "@ferry/node-io";
import { LIMITS, encodeData, folderMarker, type DeleteMessage, type DigestAlgorithm, type GetMessage, type ListEntry, type ListMessage, type ServerMessage } from "@ferry/protocol";
import { ServerError } from "./errors.js";
import type { PeerInfo, ServerEvents } from "./events.js";
import type { QuotaLedger, Storage } from "./storage.js";

/** What the request handlers need from their connection. */
export interface RequestContext {
  socket: Socket;
  /** The connection's frame writer (corked per tick), shared with its answers. */
  frames: FrameWriter;
  storage: Storage;
  quota: QuotaLedger | null;
  peer: PeerInfo;
  /** The connection's transfer digest (WELCOME.digest). */
  digest: DigestAlgorithm;
  send(message: ServerMessage): void;
  emit<K extends keyof ServerEvents>(event: K, ...args: ServerEvents[K]): void;
}

// Downloads use the DATA limit every v1 client accepts, whatever the server accepts inbound.
const DOWNLOAD_FRAME = LIMITS.MAX_DATA_PAYLOAD;
/** Read buffers per download, reused once the socket has written them (see BufferPool). */
const DOWNLOAD_BUFFERS = 4;
/** Files (or remainders) up to this size are read in one synchronous call. */
const SMALL_DOWNLOAD = 64 * 1024;

/**
 * GET: GET_BEGIN with the size, the bytes in DATA frames (hashed as they are read, paced by the
 * socket's backpressure), then GET_END with their digest (the connection's algorithm). The file is opened once, so an
 * overwrite published meanwhile (an atomic rename) cannot mix two versions into one download.
 */
export async function serveGet(ctx: RequestContext, request: GetMessage): Promise<void> {
  const startedAt = performance.now();
  const file = await ctx.storage.openForRead(request.name);
  const { size } = file;
  const read = file.read.bind(file);
  try {
    let hash = createHasher(ctx.digest);
    let offset = 0;
    if (request.resume) {
      // How much the client already holds: its leading chunk digests against ours, our prefix read
      // once; the same read feeds the whole-file hash GET_END reports.
      const prefix = await digestPrefix(read, { chunkSize: request.resume.chunkSize, end: size, expected: request.resume.chunks, algorithm: ctx.digest });
      hash = await prefix.hasherAt(prefix.digests.length);
      offset = prefix.bytes;
    }
    ctx.send({ type: "get_begin", id: request.id, name: request.name, size, ...(request.resume ? { offset } : {}) });
    const shrank = (): ServerError => new ServerError(`${request.name} shrank while it was being sent`, { code: "STORAGE_ERROR" });
    if (size - offset <= SMALL_DOWNLOAD) {
      // One read for a small file (synchronous on a local disk: docs/performance.md, "Synchronous metadata calls").
      const bytes = Buffer.allocUnsafe(size - offset);
      if (bytes.length > 0 && (await read(bytes, bytes.length, offset)) < bytes.length) throw shrank();
      hash.update(bytes);
      if (bytes.length > 0) ctx.frames.write(encodeData(bytes));
    } else {
      const pool = new BufferPool(DOWNLOAD_BUFFERS, Math.min(DOWNLOAD_FRAME, size - offset));
      for (let position = offset; position < size; ) {
        const buffer = await pool.take();
        const bytesRead = await read(buffer, Math.min(buffer.length, size - position), position);
        if (bytesRead === 0) throw shrank();
        position += bytesRead;
        const chunk = buffer.subarray(0, bytesRead);
        hash.update(chunk);
        // The buffer goes back to the pool once the kernel has its bytes (the write's callback).
        if (!ctx.frames.write(encodeData(chunk), () => pool.release(buffer))) await drained(ctx.socket);
      }
    }
    const sha256 = hash.digest("hex");
    ctx.send({ type: "get_end", id: request.id, sha256 });
    ctx.emit("download-sent", { ...ctx.peer, name: request.name, size, digest: { algorithm: ctx.digest, hex: sha256 }, durationMs: performance.now() - startedAt, resumedFrom: offset });
  } finally {
    file.close();
  }
}

/** LIST: the listing in pages of at most LIMITS.MAX_LIST_PAGE entries; the last says more=false. */
export async function serveList(ctx: RequestContext, request: ListMessage): Promise<void> {
  const entries = await ctx.storage.list(request.path, { emptyFolders: request.folders === true });
  let at = 0;
  do {
    const page = nextPage(entries, at);
    at += page.length;
    ctx.send({ type: "listing", id: request.id, entries: page, more: at < entries.length });
    if (ctx.socket.writableNeedDrain) await drained(ctx.socket);
  } while (at < entries.length);
  ctx.emit("listed", { ...ctx.peer, path: request.path ?? null, entries: entries.length });
}

// A listing page's JSON stays this far under the CONTROL limit every client accepts, leaving room
// for the envelope ({"type":"listing","id":…,"entries":[…],"more":false}).
const LIST_PAGE_BYTES = LIMITS.MAX_CONTROL_PAYLOAD - 1024;

/**
 * The entries of the page starting at `at`: at most MAX_LIST_PAGE, and few enough that the page
 * fits the CONTROL limit whatever the names (a name is ≤ 4,096 bytes, ≤ ~8 KiB escaped, so a page
 * always holds at least one entry). Cut by count only, 256 entries with 3,771-byte paths overflowed
 * the limit and the listing failed for everyone.
 */
function nextPage(entries: ListEntry[], at: number): ListEntry[] {
  let bytes = 0;
  let end = at;
  while (end < entries.length && end - at < LIMITS.MAX_LIST_PAGE) {
    const entryBytes = Buffer.byteLength(JSON.stringify(entries[end])) + 1; // and its comma
    if (end > at && bytes + entryBytes > LIST_PAGE_BYTES) break;
    bytes += entryBytes;
    end++;
  }
  return entries.slice(at, end);
}

/** DELETE: removes the file and its index entry, then DELETED. */
export async function serveDelete(ctx: RequestContext, request: DeleteMessage): Promise<void> {
  const folder = folderMarker(request.name);
  // "dir/" (capability empty-folders) removes an empty folder, which frees no quota; a name without the slash, a file.
  let size = 0;
  if (folder === null) size = await ctx.storage.remove(request.name);
  else await ctx.storage.removeFolder(folder);
  ctx.quota?.released(size);
  ctx.send({ type: "deleted", id: request.id, name: request.name });
  ctx.emit("deleted", { ...ctx.peer, name: request.name, size });
}

function drained(socket: Socket): Promise<void> {
  // A socket that is already gone will emit neither event again.
  const lost = (): ServerError => new ServerError("connection closed during a download", { code: "CONNECTION_LOST" });
  if (socket.destroyed) return Promise.reject(lost());
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      socket.off("close", onClose);
      resolve();
    };
    const onClose = (): void => {
      socket.off("drain", onDrain);
      reject(lost());
    };
    socket.once("drain", onDrain);
    socket.once("close", onClose);
  });
}
