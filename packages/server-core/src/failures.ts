import type { Socket } from "node:net";
import { ProtocolError, type WireErrorCode } from "@ferry/protocol";
import { ServerError, type ServerErrorCode } from "./errors.js";

// After a fatal error the peer gets this long to read our ERROR frame and hang up.
export const LINGER_MS = 2_000;

export function unexpected(what: string): ServerError {
  return new ServerError(`unexpected message: ${what}`, { code: "UNEXPECTED_MESSAGE" });
}

/** NO_SPACE when a disk error (or its cause) says the disk or a disk quota is full. */
export function diskFailureCode(error: unknown): "NO_SPACE" | "STORAGE_ERROR" {
  for (let at: unknown = error, depth = 0; at instanceof Error && depth < 5; at = at.cause, depth++) {
    const errno = (at as NodeJS.ErrnoException).code;
    if (errno === "ENOSPC" || errno === "EDQUOT") return "NO_SPACE";
  }
  return "STORAGE_ERROR";
}

/**
 * Maps anything thrown while serving to a stable code and a sentence. Ferry's own errors keep their
 * code; anything else is a bug (INTERNAL), never disguised as a network failure: the socket's own
 * errors are turned into CONNECTION_LOST where they are read (Connection's #next).
 */
export function describe(error: unknown): { code: ServerErrorCode; message: string } {
  if (error instanceof ServerError) {
    return { code: error.code === "STORAGE_ERROR" ? diskFailureCode(error) : error.code, message: error.message };
  }
  if (error instanceof ProtocolError) {
    return { code: error.code === "DECODER_FAILED" ? "BAD_MESSAGE" : error.code, message: error.message };
  }
  return { code: "INTERNAL", message: "internal server error (logged by the server)" };
}

/** Server-only codes never go on the wire; they are reported as the nearest wire code. */
export function toWireCode(code: ServerErrorCode): WireErrorCode {
  switch (code) {
    case "INVALID_CONFIG":
    case "STORAGE_UNUSABLE":
    case "LISTEN_FAILED":
    case "BAD_STATE":
    case "CONNECTION_LOST":
      return "STORAGE_ERROR";
    case "TLS_ON_PLAIN_PORT":
    case "PEER_ERROR":
      return "UNEXPECTED_MESSAGE";
    case "INTERNAL":
      return "INTERNAL_ERROR";
    default:
      return code;
  }
}

/** Half-closes, then reads and drops whatever the peer still sends, so the kernel has no reason to
 * answer with a RST that could destroy our ERROR frame in flight. Bounded by LINGER_MS. */
export async function lingerThenClose(socket: Socket, reader: AsyncIterator<Buffer>): Promise<void> {
  socket.end();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  try {
    while (!(await reader.next()).done) {
      // discard
    }
  } catch {
    // reset or destroyed: either way we are done
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}
