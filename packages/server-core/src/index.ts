export { FerryServer, SERVER_AGENT, SERVER_CAPABILITIES, type StopOptions, type ServerOptions, type ServerStats, type ConnectionGate } from "./ferry-server.js";
export { chooseVictim, type SlotCandidate } from "./eviction.js";
export { AuthFailures, type AuthFailureLedger, type FailureLimits, type TryVerdict } from "./auth-failures.js";
export { PartialTable, type PartialLedger } from "./partial-table.js";
export { Quota } from "./quota.js";
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
export { StorageRoot, type SharedRootState } from "./storage-root.js";
export type { ShareStore } from "./share-store.js";
export { LocalShareStore, SHARES_FILE } from "./local-share-store.js";
export {
  type ShareRecord,
  shareEnded,
  shareKey,
  shareFingerprint,
  shareInfo,
  newShareSecret,
  hashSharePassword,
  checkSharePassword,
} from "./share-links.js";
export type { Space } from "./upload-session.js";
export { EXPIRED_LINK_KEPT_MS } from "./share-requests.js";
export { RateWatch } from "./rate-watch.js";
