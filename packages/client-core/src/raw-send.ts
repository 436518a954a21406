import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import net from "node:net";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ClientError } from "./errors.js";
import type { UploadProgress } from "./upload.js";

export interface RawSendOptions {
  host?: string;
  port?: number;
  signal?: AbortSignal;
  onProgress?: (progress: UploadProgress) => void;
}

export interface RawSendResult {
  size: number;
  sha256: string;
}

/**
 * Sends a file's bare bytes and closes: the lab's wire format, for servers that predate Ferry (or a
 * Ferry server in raw mode, which stores it as output<N>.txt). There is no confirmation in this
 * format; the SHA-256 is what was sent.
 */
export async function sendRaw(filePath: string, options: RawSendOptions = {}): Promise<RawSendResult> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 8080;
  let handle;
  let total: number;
  try {
    handle = await open(filePath, "r");
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error("not a regular file");
    total = stat.size;
  } catch (cause) {
    await handle?.close();
    throw new ClientError(`cannot read ${filePath}: ${(cause as Error).message}`, { code: "LOCAL_FILE_ERROR", cause });
  }
  const socket = net.connect({ host, port, noDelay: true });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
  } catch (cause) {
    await handle.close();
    throw new ClientError(`cannot connect to ${host}:${port}: ${(cause as Error).message}`, { code: "CONNECT_FAILED", cause });
  }
  const hash = createHash("sha256");
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      options.onProgress?.({ bytes, total });
      callback(null, chunk);
    },
  });
  // The peer closing its side is how the lab's server says it is done; wait for it.
  const peerClosed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.resume(); // nothing is expected back; drop anything that comes
  try {
    await pipeline(handle.createReadStream({ highWaterMark: 256 * 1024 }), meter, socket, { signal: options.signal });
  } catch (cause) {
    socket.destroy();
    if (options.signal?.aborted) throw new ClientError("aborted", { code: "ABORTED", cause });
    throw new ClientError(`raw send failed: ${(cause as Error).message}`, { code: "CONNECTION_CLOSED", cause });
  }
  await peerClosed;
  return { size: bytes, sha256: hash.digest("hex") };
}
