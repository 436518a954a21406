import { FATAL_WIRE_ERROR_CODES, FerryError, WIRE_ERROR_CODES, type UnknownWireCode } from "@ferry/protocol";

/** Stable codes of every error the client core throws. Server-sent codes keep their wire name. */
export const CLIENT_ERROR_CODES = {
  ...WIRE_ERROR_CODES,
  /** The configuration did not pass the schema. */
  INVALID_CONFIG: "INVALID_CONFIG",
  /** TCP connect failed (refused, unreachable, bad host). */
  CONNECT_FAILED: "CONNECT_FAILED",
  /** The connection closed before the answer arrived. */
  CONNECTION_CLOSED: "CONNECTION_CLOSED",
  /** The server sent something that is not valid Ferry protocol. */
  PROTOCOL_ERROR: "PROTOCOL_ERROR",
  /** A local file could not be opened or read. */
  LOCAL_FILE_ERROR: "LOCAL_FILE_ERROR",
  /** The local source changed size while it was being sent. */
  SOURCE_CHANGED: "SOURCE_CHANGED",
  /** The caller's AbortSignal fired. */
  ABORTED: "ABORTED",
  /** The server did not announce the capability this call needs. */
  NOT_SUPPORTED: "NOT_SUPPORTED",
  /** TLS: the server's certificate is not trusted (no CA vouches for it, or the name differs). */
  TLS_UNTRUSTED: "TLS_UNTRUSTED",
  /** TLS: the server's certificate is not the pinned one. */
  TLS_FINGERPRINT_MISMATCH: "TLS_FINGERPRINT_MISMATCH",
  /** A stored name is a folder where a file was meant (ferry rm without -r). */
  IS_A_FOLDER: "IS_A_FOLDER",
  /** A local name that cannot be sent as it is (not valid UTF-8, or not a safe name). */
  UNSENDABLE_NAME: "UNSENDABLE_NAME",
  /** The client was used after close(), or the like. */
  BAD_STATE: "BAD_STATE",
} as const;
/**
 * A code from CLIENT_ERROR_CODES, or one a newer server sent that this version does not know
 * (carried as received: a new code never breaks an older client).
 */
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[keyof typeof CLIENT_ERROR_CODES] | UnknownWireCode;

/** Base error of client-core. */
export class ClientError extends FerryError<ClientErrorCode> {}

/**
 * ABORTED, for a resumable upload interrupted mid-send: the server keeps what it received (its
 * durable chunks) for the next attempt. `sentBytes` is how far the sending got (the server holds up
 * to that, in whole chunks).
 */
export class InterruptedUpload extends ClientError {
  readonly sentBytes: number;

  constructor(name: string, sentBytes: number) {
    super(`${name}: interrupted; the server keeps what it received for the next attempt`, { code: "ABORTED" });
    this.sentBytes = sentBytes;
  }
}

/** A TLS server we may not trust; `fingerprint` ("SHA256:…") is what the caller can show or pin. */
export class TlsTrustError extends ClientError {
  readonly fingerprint: string;
  readonly reason: string;

  constructor(message: string, options: { code: "TLS_UNTRUSTED" | "TLS_FINGERPRINT_MISMATCH"; fingerprint: string; reason: string }) {
    super(message, { code: options.code });
    this.fingerprint = options.fingerprint;
    this.reason = options.reason;
  }
}

const CONNECTION_LEVEL = new Set<string>([
  ...FATAL_WIRE_ERROR_CODES,
  "CONNECT_FAILED",
  "CONNECTION_CLOSED",
  "PROTOCOL_ERROR",
  "TLS_UNTRUSTED",
  "TLS_FINGERPRINT_MISMATCH",
]);

/** True when the error ended the whole connection, not just one request. */
export function isConnectionLevel(error: unknown): boolean {
  return error instanceof ClientError && CONNECTION_LEVEL.has(error.code);
}
