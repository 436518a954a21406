import { WIRE_ERROR_CODES } from "./error-codes.js";
import type { Frame } from "./frame.js";

/**
 * The one error base of every Ferry package: a stable string `code` (tests and callers branch on
 * it, never on the text), the message for people, and the `cause` forwarded. Each package narrows
 * `Code` to its own union; the CLIs map codes to sentences and exit codes in one place each.
 */
export class FerryError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(message: string, options: { code: Code; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
  }
}

/**
 * Stable codes for errors raised while encoding or decoding the wire format: four wire codes,
 * defined (and documented) once in WIRE_ERROR_CODES, and DECODER_FAILED, which a peer never sees.
 */
export const PROTOCOL_ERROR_CODES = {
  ...pick(WIRE_ERROR_CODES, ["FRAME_TOO_LARGE", "UNKNOWN_FRAME_TYPE", "BAD_MESSAGE", "UNSUPPORTED_VERSION"]),
  /** The decoder already failed; it does not resynchronise (reported to a peer as BAD_MESSAGE). */
  DECODER_FAILED: "DECODER_FAILED",
} as const;

function pick<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((key) => [key, from[key]])) as Pick<T, K>;
}
export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[keyof typeof PROTOCOL_ERROR_CODES];

/** Error thrown by the codec. */
export class ProtocolError extends FerryError<ProtocolErrorCode> {
  /**
   * Frames the same push() completed before the bad bytes: whole and valid, they are the peer's
   * requests and must be handled before the error ends the connection, or the outcome would depend
   * on how TCP happened to cut the stream (protocol.md §3).
   */
  framesBefore: Frame[] = [];
}
