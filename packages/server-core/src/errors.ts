import { FerryError, WIRE_ERROR_CODES } from "@ferry/protocol";

/** Stable codes of every error the server core raises or reports. */
export const SERVER_ERROR_CODES = {
  ...WIRE_ERROR_CODES,
  /** The configuration did not pass the schema. */
  INVALID_CONFIG: "INVALID_CONFIG",
  /** The storage directory cannot be created or used. */
  STORAGE_UNUSABLE: "STORAGE_UNUSABLE",
  /** Binding host:port failed (in use, no permission, bad address). */
  LISTEN_FAILED: "LISTEN_FAILED",
  /** start() on a running server, or the like. */
  BAD_STATE: "BAD_STATE",
  /** The peer went away or reset before the upload finished. */
  CONNECTION_LOST: "CONNECTION_LOST",
  /** A TLS client reached a plain-TCP port; it was told so in plaintext and closed (never on the wire as an ERROR). */
  TLS_ON_PLAIN_PORT: "TLS_ON_PLAIN_PORT",
  /** The client sent ERROR: it reports a fatal problem of its own and closes. Nothing is sent back. */
  PEER_ERROR: "PEER_ERROR",
  /** A bug: an exception the server did not expect. Emitted as "internal-error" with its stack; the peer gets INTERNAL_ERROR. */
  INTERNAL: "INTERNAL",
} as const;
export type ServerErrorCode = (typeof SERVER_ERROR_CODES)[keyof typeof SERVER_ERROR_CODES];

/** Base error of server-core. */
export class ServerError extends FerryError<ServerErrorCode> {}
