import type { ConnectionContext } from "./connection.js";
import { ServerError } from "./errors.js";
import type { PeerInfo } from "./events.js";
import { describe } from "./failures.js";

/**
 * The lab's wire format: every byte until the peer's FIN is one file, published as
 * output<N>.txt under the same rules as any upload. A reset, a timeout or a size beyond the
 * limit stores nothing. `next` yields the socket's next chunk (null at EOF).
 */
export async function serveRawUpload(
  ctx: ConnectionContext,
  peer: PeerInfo,
  head: Buffer,
  next: () => Promise<Buffer | null>,
  onInternal: (error: unknown) => void,
): Promise<"stored" | "failed"> {
  const { storage, config } = ctx;
  ctx.emit("upload-started", { ...peer, name: null, size: null, raw: true });
  const startedAt = performance.now();
  const file = await storage.createIncoming(null);
  let stored = false;
  try {
    let chunk: Buffer | null = head;
    while (chunk !== null) {
      if (file.bytes + chunk.length > config.maxFileSize) {
        throw new ServerError(`raw upload exceeds the ${config.maxFileSize}-byte limit`, { code: "FILE_TOO_LARGE" });
      }
      if (chunk.length > 0 && !file.write(chunk)) await file.drained();
      chunk = await next();
    }
    const sha256 = await file.finish(config.fsync);
    // Raw uploads have no handshake: always SHA-256.
    const digest = { algorithm: "sha256" as const, hex: sha256 };
    const name = await storage.publishRaw(file, { size: file.bytes, digest });
    stored = true;
    ctx.emit("upload-stored", {
      ...peer,
      name,
      requestedName: null,
      size: file.bytes,
      digest,
      durationMs: performance.now() - startedAt,
      raw: true,
      outcome: "created",
    });
    return "stored";
  } catch (error) {
    const { code, message } = describe(error);
    if (code === "INTERNAL") onInternal(error);
    ctx.emit("upload-failed", { ...peer, name: null, code, message, raw: true });
    return "failed";
  } finally {
    if (!stored) await file.discard();
  }
}
