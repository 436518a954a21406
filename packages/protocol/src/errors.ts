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

/** Stable codes for errors raised while encoding or decoding the wire format. */
export const PROTOCOL_ERROR_CODES = {
  /** A frame declared a payload larger than the limit for its type. */
  FRAME_TOO_LARGE: "FRAME_TOO_LARGE",
  /** A frame's type byte is not in FRAME_TYPES. */
  UNKNOWN_FRAME_TYPE: "UNKNOWN_FRAME_TYPE",
  /** A CONTROL payload is not UTF-8 JSON matching the message union. */
  BAD_MESSAGE: "BAD_MESSAGE",
  /** The decoder already failed; it does not resynchronise. */
  DECODER_FAILED: "DECODER_FAILED",
  /** The first bytes were Ferry's magic with a version this peer does not speak. */
  UNSUPPORTED_VERSION: "UNSUPPORTED_VERSION",
} as const;
export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[keyof typeof PROTOCOL_ERROR_CODES];

/** Error thrown by the codec. */
export class ProtocolError extends FerryError<ProtocolErrorCode> {}
