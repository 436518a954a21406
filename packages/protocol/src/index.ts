export {
  MAGIC,
  PROTOCOL_VERSION,
  PREAMBLE_BYTES,
  TYPE_BYTES,
  LENGTH_BYTES,
  HEADER_BYTES,
  FRAME_TYPES,
  LIMITS,
  CAPABILITIES,
  type FrameType,
} from "./wire-constants.js";
export { ProtocolError, PROTOCOL_ERROR_CODES, type ProtocolErrorCode } from "./errors.js";
export { WIRE_ERROR_CODES, FATAL_WIRE_ERROR_CODES, type WireErrorCode } from "./error-codes.js";
export {
  MessageSchema,
  HelloSchema,
  WelcomeSchema,
  PutSchema,
  PutEndSchema,
  CancelSchema,
  StoredSchema,
  ErrorMessageSchema,
  GetSchema,
  GetBeginSchema,
  GetEndSchema,
  ListSchema,
  ListingSchema,
  ListEntrySchema,
  DeleteSchema,
  DeletedSchema,
  ConflictPolicySchema,
  CONFLICT_POLICIES,
  assertNever,
  type Message,
  type MessageType,
  type HelloMessage,
  type WelcomeMessage,
  type PutMessage,
  type PutEndMessage,
  type CancelMessage,
  type StoredMessage,
  type ErrorMessage,
  type GetMessage,
  type GetBeginMessage,
  type GetEndMessage,
  type ListMessage,
  type ListingMessage,
  type ListEntry,
  type DeleteMessage,
  type DeletedMessage,
  type ConflictPolicy,
} from "./messages.js";
export type { Frame } from "./frame.js";
export { encodeFrameHeader, encodeControl, encodeData } from "./frame-encoder.js";
export { FrameDecoder, type FrameDecoderOptions } from "./frame-decoder.js";
export { encodePreamble, matchPreamble, type PreambleMatch } from "./preamble.js";
export { fileNameProblem, numberedName, RESERVED_NAME_PREFIX } from "./file-name.js";
export {
  ServerConfigSchema,
  ClientConfigSchema,
  checkServerConfig,
  checkClientConfig,
  type ConfigCheck,
  type ServerConfig,
  type ServerConfigInput,
  type ClientConfig,
  type ClientConfigInput,
} from "./config.js";
