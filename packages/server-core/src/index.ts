export { FerryServer, SERVER_AGENT, SERVER_CAPABILITIES, type StopOptions } from "./ferry-server.js";
export { ServerError, SERVER_ERROR_CODES, type ServerErrorCode } from "./errors.js";
export type {
  ServerEvents,
  PeerInfo,
  UploadStartedEvent,
  UploadStoredEvent,
  UploadFailedEvent,
  ConnectionClosedEvent,
  ConnectionRejectedEvent,
  ConnectionEvictedEvent,
} from "./events.js";
export { hashToken, newToken } from "./auth.js";
export type { ListeningEvent } from "./events.js";
export type { Storage, Facts, Published, PartialHeader, ResumableUpload, StoredReader, QuotaLedger } from "./storage.js";
export type { IncomingFile } from "./incoming-file.js";
export { StorageRoot } from "./storage-root.js";
