export {
  PROTOCOL_VERSION,
  PREAMBLE_BYTES,
  FRAME_TYPES,
  LIMITS,
  CAPABILITIES,
} from "./wire-constants.js";
export { FerryError, ProtocolError, PROTOCOL_ERROR_CODES, type ProtocolErrorCode } from "./errors.js";
export {
  WIRE_ERROR_CODES,
  FATAL_WIRE_ERROR_CODES,
  type WireErrorCode,
  type UnknownWireCode,
} from "./error-codes.js";
export {
  MessageSchema,
  MESSAGE_TYPES,
  STREAM_BEGINS,
  CONFLICT_POLICIES,
  PUBLISH_OUTCOMES,
  type PublishOutcome,
  PERMISSIONS,
  assertNever,
  type Permission,
  type Message,
  type ClientMessage,
  type ServerMessage,
  type MessageType,
  type WelcomeMessage,
  type PutMessage,
  type StoredMessage,
  type ErrorMessage,
  type GetMessage,
  type ListMessage,
  type ListEntry,
  type DeleteMessage,
  type ConflictPolicy,
  type PutOfferMessage,
  type PutBatchMessage,
  type BatchFile,
  type BatchResult,
  type BatchStoredMessage,
  type ResumeInfo,
  SHARE_KINDS,
  type ShareKind,
  type ShareInfo,
  type ShareMessage,
  type SharedMessage,
  type ShareListMessage,
  type SharesMessage,
  type ShareRevokeMessage,
  type ShareRevokedMessage,
} from "./messages.js";
export type { Frame } from "./frame.js";
export { encodeControl, encodeData } from "./frame-encoder.js";
export { FrameDecoder, type FrameDecoderOptions } from "./frame-decoder.js";
export { encodePreamble, matchPreamble, type PreambleMatch } from "./preamble.js";
export {
  fileNameProblem,
  pathProblem,
  numberedPath,
  compareNames,
  isReservedName,
  quoteName,
  folderMarker,
  RESERVED_NAME_PREFIX,
} from "./file-name.js";
export {
  ServerConfigSchema,
  checkServerConfig,
  checkClientConfig,
  UserSchema,
  isLoopbackHost,
  type UserConfig,
  type ServerConfig,
  type ServerConfigInput,
  type ClientConfig,
  type ClientConfigInput,
} from "./config.js";
export { formatFingerprint, parseFingerprint } from "./fingerprint.js";
