/**
 * Codes that travel in ERROR messages. Both cores and both CLIs use these strings; they never change
 * meaning once published. docs/protocol.md lists each with when it is sent and whether it is fatal.
 */
export const WIRE_ERROR_CODES = {
  /** The server is at max-clients; the connection is closed. */
  BUSY: "BUSY",
  /** The preamble's version is not spoken by the server. */
  UNSUPPORTED_VERSION: "UNSUPPORTED_VERSION",
  /** A frame exceeded the size limit for its type. */
  FRAME_TOO_LARGE: "FRAME_TOO_LARGE",
  /** A frame type byte is unknown. */
  UNKNOWN_FRAME_TYPE: "UNKNOWN_FRAME_TYPE",
  /** A CONTROL payload is not valid JSON for any message. */
  BAD_MESSAGE: "BAD_MESSAGE",
  /** A valid message arrived in a state where it is not allowed. */
  UNEXPECTED_MESSAGE: "UNEXPECTED_MESSAGE",
  /** A file name is not a safe base name. */
  BAD_NAME: "BAD_NAME",
  /** The declared size exceeds the server's max file size. */
  FILE_TOO_LARGE: "FILE_TOO_LARGE",
  /** The bytes received differ in count from the size declared in PUT. */
  SIZE_MISMATCH: "SIZE_MISMATCH",
  /** The SHA-256 of the bytes received differs from the one declared in PUT_END. */
  CHECKSUM_MISMATCH: "CHECKSUM_MISMATCH",
  /** The client cancelled the upload. */
  CANCELLED: "CANCELLED",
  /** The server could not write or publish the file. */
  STORAGE_ERROR: "STORAGE_ERROR",
  /** The peer was silent for longer than the server allows. */
  TIMEOUT: "TIMEOUT",
  /** The server is stopping. */
  SHUTTING_DOWN: "SHUTTING_DOWN",
  /** GET or DELETE named a file that is not stored. */
  NOT_FOUND: "NOT_FOUND",
  /** PUT with onConflict "fail" named a file that exists. */
  ALREADY_EXISTS: "ALREADY_EXISTS",
  /** Another connection is sending the resumable upload with this key right now. */
  IN_PROGRESS: "IN_PROGRESS",
  /** The connection has started as many uploads as the server allows one connection. */
  TOO_MANY_FILES: "TOO_MANY_FILES",
  /** The server has users configured and HELLO carried no token. */
  AUTH_REQUIRED: "AUTH_REQUIRED",
  /** HELLO's token matches no user (answered after a delay), or this address failed too often. */
  AUTH_FAILED: "AUTH_FAILED",
  /** The authenticated user lacks the permission the request needs (read, write or delete). */
  FORBIDDEN: "FORBIDDEN",
  /** Storing the file would take the user past their quota. */
  QUOTA_EXCEEDED: "QUOTA_EXCEEDED",
  /** The server's disk has too little free space for the file (or filled up while writing it). */
  NO_SPACE: "NO_SPACE",
  /** A transfer or a frame in progress moved fewer bytes than the server's minimum data rate. */
  TOO_SLOW: "TOO_SLOW",
  /** A resumable PUT's size and chunkSize make more chunks than a PUT_OFFER can carry (512). */
  TOO_MANY_CHUNKS: "TOO_MANY_CHUNKS",
  /** The request needs a capability the server did not announce (SHARE to a server without its HTTP listener). */
  UNSUPPORTED: "UNSUPPORTED",
  /** The server hit a bug (an exception it did not expect); it logged the details and closes. */
  INTERNAL_ERROR: "INTERNAL_ERROR",
} as const;
export type WireErrorCode = (typeof WIRE_ERROR_CODES)[keyof typeof WIRE_ERROR_CODES];

/**
 * An error code this version does not know, as a newer peer sent it (protocol.md §8: receivers
 * treat an unknown code as a failure carrying that code, never as a malformed message).
 */
export type UnknownWireCode = string & { readonly __unknownWireCode: true };

/** Any code an ERROR may carry: a known one, or an unknown one of the same shape. */
export type ReceivedWireCode = WireErrorCode | UnknownWireCode;

/** The shape every code has, known or not: upper-case letters, digits and "_", at most 64. */
export const WIRE_CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Codes after which the sender closes the connection; the others only fail one upload. */
export const FATAL_WIRE_ERROR_CODES: ReadonlySet<WireErrorCode> = new Set<WireErrorCode>([
  "BUSY",
  "UNSUPPORTED_VERSION",
  "FRAME_TOO_LARGE",
  "UNKNOWN_FRAME_TYPE",
  "BAD_MESSAGE",
  "UNEXPECTED_MESSAGE",
  "TIMEOUT",
  "SHUTTING_DOWN",
  "AUTH_REQUIRED",
  "AUTH_FAILED",
  "TOO_SLOW",
  "INTERNAL_ERROR",
]);
