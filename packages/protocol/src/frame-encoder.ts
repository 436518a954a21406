import { ProtocolError } from "./errors.js";
import { MessageSchema, type Message } from "./messages.js";
import { FRAME_TYPES, HEADER_BYTES, LIMITS, type FrameType } from "./wire-constants.js";

/** Header of one frame: type byte + big-endian u32 payload length. */
export function encodeFrameHeader(type: FrameType, length: number): Buffer {
  if (!Number.isInteger(length) || length < 0 || length > 0xffff_ffff) {
    throw new ProtocolError(`frame length ${length} does not fit in u32`, { code: "FRAME_TOO_LARGE" });
  }
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(length, 1);
  return header;
}

/**
 * A control message as [header, payload]. The message is validated first, so a peer never receives
 * something this side would itself reject.
 */
export function encodeControl(message: Message): [Buffer, Buffer] {
  const checked = MessageSchema.safeParse(message);
  if (!checked.success) {
    throw new ProtocolError(`refusing to send invalid ${message.type} message`, {
      code: "BAD_MESSAGE",
      cause: checked.error,
    });
  }
  const payload = Buffer.from(JSON.stringify(checked.data), "utf8");
  if (payload.length > LIMITS.MAX_CONTROL_PAYLOAD) {
    throw new ProtocolError(`control message of ${payload.length} bytes exceeds the limit`, {
      code: "FRAME_TOO_LARGE",
    });
  }
  return [encodeFrameHeader(FRAME_TYPES.CONTROL, payload.length), payload];
}

/**
 * A DATA frame as [header, payload]. The payload is passed through untouched, so file bytes are
 * never copied into a combined buffer; the writer corks and writes both.
 */
export function encodeData(payload: Uint8Array): [Buffer, Uint8Array] {
  return [encodeFrameHeader(FRAME_TYPES.DATA, payload.length), payload];
}
