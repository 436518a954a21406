import { createHash } from "node:crypto";
import type { Socket } from "node:net";
import { LIMITS, encodeData, type DeleteMessage, type GetMessage, type ListMessage, type Message } from "@ferry/protocol";
import type { PeerInfo, ServerEvents } from "./events.js";
import type { StorageRoot } from "./storage-root.js";

/** What the request handlers need from their connection. */
export interface RequestContext {
  socket: Socket;
  storage: StorageRoot;
  peer: PeerInfo;
  send(message: Message): void;
  emit<K extends keyof ServerEvents>(event: K, ...args: ServerEvents[K]): void;
}

// Downloads use the DATA limit every v1 client accepts, whatever the server accepts inbound.
const DOWNLOAD_FRAME = LIMITS.MAX_DATA_PAYLOAD;

/**
 * GET: GET_BEGIN with the size, the bytes in DATA frames (hashed as they are read, paced by the
 * socket's backpressure), then GET_END with their SHA-256. The file is opened once, so an
 * overwrite published meanwhile (an atomic rename) cannot mix two versions into one download.
 */
export async function serveGet(ctx: RequestContext, request: GetMessage): Promise<void> {
  const startedAt = performance.now();
  const { handle, size } = await ctx.storage.openForRead(request.name);
  try {
    ctx.send({ type: "get_begin", id: request.id, name: request.name, size });
    const hash = createHash("sha256");
    if (size > 0) {
      const source = handle.createReadStream({ start: 0, end: size - 1, highWaterMark: DOWNLOAD_FRAME, autoClose: false });
      for await (const chunk of source as AsyncIterable<Buffer>) {
        hash.update(chunk);
        const [header, payload] = encodeData(chunk);
        ctx.socket.write(header);
        if (!ctx.socket.write(payload)) await drained(ctx.socket);
      }
    }
    const sha256 = hash.digest("hex");
    ctx.send({ type: "get_end", id: request.id, sha256 });
    ctx.emit("download-sent", { ...ctx.peer, name: request.name, size, sha256, durationMs: performance.now() - startedAt });
  } finally {
    await handle.close();
  }
}

/** LIST: the listing in pages of at most LIMITS.MAX_LIST_PAGE entries; the last says more=false. */
export async function serveList(ctx: RequestContext, request: ListMessage): Promise<void> {
  const entries = await ctx.storage.list(request.path);
  let at = 0;
  do {
    const page = entries.slice(at, at + LIMITS.MAX_LIST_PAGE);
    at += page.length;
    ctx.send({ type: "listing", id: request.id, entries: page, more: at < entries.length });
    if (ctx.socket.writableNeedDrain) await drained(ctx.socket);
  } while (at < entries.length);
}

/** DELETE: removes the file and its index entry, then DELETED. */
export async function serveDelete(ctx: RequestContext, request: DeleteMessage): Promise<void> {
  await ctx.storage.remove(request.name);
  ctx.send({ type: "deleted", id: request.id, name: request.name });
  ctx.emit("deleted", { ...ctx.peer, name: request.name });
}

function drained(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      socket.off("close", onClose);
      resolve();
    };
    const onClose = (): void => {
      socket.off("drain", onDrain);
      reject(new Error("connection closed during a download"));
    };
    socket.once("drain", onDrain);
    socket.once("close", onClose);
  });
}
