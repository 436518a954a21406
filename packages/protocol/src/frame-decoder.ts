import { ProtocolError } from "./errors.js";
import type { Frame } from "./frame.js";
import { MessageSchema } from "./messages.js";
import { FRAME_TYPES, HEADER_BYTES, LENGTH_BYTES, LIMITS } from "./wire-constants.js";

export interface FrameDecoderOptions {
  /** Largest CONTROL payload accepted. Default: LIMITS.MAX_CONTROL_PAYLOAD. */
  maxControlPayload?: number;
  /** Largest DATA payload accepted. Default: LIMITS.MAX_DATA_PAYLOAD. */
  maxDataPayload?: number;
  /**
   * Emit DATA bytes as they arrive, one frame per received piece, instead of one frame per wire
   * frame. DATA is a byte stream, so consumers that only append lose nothing, and no payload is
   * ever copied: the server's W1 profile spent ~10% of its time in Buffer.concat and the GC
   * behind it.
   */
  streamData?: boolean;
  /**
   * The caller reuses each chunk's memory once push() returns (a socket with a static read
   * buffer). The decoder then copies the bytes it keeps across pushes (a frame split between
   * chunks); frames it returns still view the chunk and must be consumed before the next push.
   */
  reusesInput?: boolean;
}

// ignoreBOM keeps a leading U+FEFF in the text, where JSON.parse refuses it: a payload starting with
// a byte-order mark is not a message (protocol.md §3).
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Sans-I/O frame decoder: feed it bytes in any chunking, get back the frames they complete.
 *
 * A frame's declared length is checked against the limit for its type as soon as the header is
 * complete, before any of the body is buffered. After any error the decoder stays failed: a
 * byte stream that lost framing cannot be trusted to resynchronise.
 */
export class FrameDecoder {
  readonly #maxControl: number;
  readonly #maxData: number;
  readonly #streamData: boolean;
  readonly #reusesInput: boolean;
  readonly #header = Buffer.alloc(HEADER_BYTES);
  #headerFill = 0;
  #type = 0;
  #remaining = 0;
  #inBody = false;
  #parts: Buffer[] = [];
  #bodyLength = 0;
  #error: ProtocolError | undefined;

  constructor(options: FrameDecoderOptions = {}) {
    this.#maxControl = options.maxControlPayload ?? LIMITS.MAX_CONTROL_PAYLOAD;
    this.#maxData = options.maxDataPayload ?? LIMITS.MAX_DATA_PAYLOAD;
    this.#streamData = options.streamData ?? false;
    this.#reusesInput = options.reusesInput ?? false;
  }

  /** True once the decoder has thrown; every later push throws DECODER_FAILED. */
  get failed(): boolean {
    return this.#error !== undefined;
  }

  /** True when bytes of an unfinished frame are held: an EOF now means a truncated frame. */
  get midFrame(): boolean {
    return this.#headerFill > 0 || this.#inBody;
  }

  /** Decodes as many whole frames as `chunk` completes. Throws ProtocolError on bad input. */
  push(chunk: Uint8Array): Frame[] {
    if (this.#error) {
      throw new ProtocolError("decoder already failed", { code: "DECODER_FAILED", cause: this.#error });
    }
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const frames: Frame[] = [];
    try {
      let offset = 0;
      while (offset < buf.length) {
        if (!this.#inBody) {
          const take = Math.min(HEADER_BYTES - this.#headerFill, buf.length - offset);
          buf.copy(this.#header, this.#headerFill, offset, offset + take);
          this.#headerFill += take;
          offset += take;
          if (this.#headerFill < HEADER_BYTES) break;
          this.#startBody();
          if (this.#remaining === 0) this.#emit(frames, this.#finishFrame());
          continue;
        }
        const take = Math.min(this.#remaining, buf.length - offset);
        // A view, not a copy: the socket hands us a fresh buffer per chunk.
        const piece = buf.subarray(offset, offset + take);
        if (this.#streamData && this.#type === FRAME_TYPES.DATA) frames.push({ kind: "data", payload: piece });
        // A part kept for a later push is copied when the caller reuses its chunks.
        else this.#parts.push(this.#reusesInput && take < this.#remaining ? Buffer.from(piece) : piece);
        this.#remaining -= take;
        offset += take;
        if (this.#remaining === 0) this.#emit(frames, this.#finishFrame());
      }
    } catch (error) {
      this.#error =
        error instanceof ProtocolError
          ? error
          : new ProtocolError("frame decoding failed", { code: "BAD_MESSAGE", cause: error });
      this.#error.framesBefore = frames;
      throw this.#error;
    }
    return frames;
  }

  #emit(frames: Frame[], frame: Frame | undefined): void {
    if (frame) frames.push(frame);
  }

  #startBody(): void {
    const type = this.#header.readUInt8(0);
    const length = this.#header.readUInt32BE(HEADER_BYTES - LENGTH_BYTES);
    let limit: number;
    if (type === FRAME_TYPES.CONTROL) limit = this.#maxControl;
    else if (type === FRAME_TYPES.DATA) limit = this.#maxData;
    else {
      throw new ProtocolError(`unknown frame type 0x${type.toString(16).padStart(2, "0")}`, {
        code: "UNKNOWN_FRAME_TYPE",
      });
    }
    if (length > limit) {
      throw new ProtocolError(`frame of ${length} bytes exceeds the limit of ${limit}`, {
        code: "FRAME_TOO_LARGE",
      });
    }
    this.#type = type;
    this.#bodyLength = length;
    this.#remaining = length;
    this.#inBody = true;
  }

  #finishFrame(): Frame | undefined {
    if (this.#streamData && this.#type === FRAME_TYPES.DATA) {
      this.#headerFill = 0;
      this.#inBody = false;
      // Its bytes were emitted as they arrived. An empty frame is still a frame: it is passed on
      // so that the receiver's state machine judges it (DATA in IDLE is an error, protocol.md §5).
      return this.#bodyLength === 0 ? { kind: "data", payload: Buffer.alloc(0) } : undefined;
    }
    const payload =
      this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#bodyLength);
    const type = this.#type;
    this.#parts = [];
    this.#headerFill = 0;
    this.#inBody = false;
    if (type === FRAME_TYPES.DATA) return { kind: "data", payload };
    return { kind: "control", message: parseControl(payload) };
  }
}

function parseControl(payload: Buffer): Extract<Frame, { kind: "control" }>["message"] {
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(payload));
  } catch (cause) {
    throw new ProtocolError("control payload is not UTF-8 JSON", { code: "BAD_MESSAGE", cause });
  }
  const result = MessageSchema.safeParse(json);
  if (!result.success) {
    throw new ProtocolError("control payload is not a valid message", { code: "BAD_MESSAGE", cause: result.error });
  }
  return result.data;
}
