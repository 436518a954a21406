export { FerryClient } from "./ferry-client.js";
export type { ServerInfo } from "./wire.js";
export type { UploadOptions, StreamUploadOptions, UploadProgress, UploadResult } from "./upload.js";
export type { DownloadOptions, DownloadResult } from "./download.js";
export type { BatchEntry, BatchOptions } from "./batch-upload.js";

export { sendRaw, type RawSendOptions, type RawSendResult } from "./raw-send.js";
export { ClientError, InterruptedUpload, TlsTrustError, CLIENT_ERROR_CODES, isConnectionLevel, type ClientErrorCode } from "./errors.js";
export {
  walkLocalFolder,
  uploadFiles,
  downloadFolder,
  makeFolders,
  type LocalFile,
  type LocalFolder,
  type SkippedEntry,
  type FolderUploadOptions,
  type FolderDownloadOptions,
} from "./folders.js";
export { findUnchanged, listFolder, digestOfFile, holdsRecorded } from "./unchanged.js";
export type { ShareOptions, SharedLink } from "./shares.js";
