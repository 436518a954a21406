export {
  FerryClient,
  type ServerInfo,
  type UploadOptions,
  type StreamUploadOptions,
  type UploadProgress,
  type UploadResult,
} from "./ferry-client.js";
export { sendRaw, type RawSendOptions, type RawSendResult } from "./raw-send.js";
export { ClientError, CLIENT_ERROR_CODES, type ClientErrorCode } from "./errors.js";
