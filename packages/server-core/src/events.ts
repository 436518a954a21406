import type { FileDigest, PublishOutcome } from "@ferry/protocol";
import type { ServerErrorCode } from "./errors.js";

/** Who is on the other end: a per-server connection number (from 1, as the lab counted) and address. */
export interface PeerInfo {
  connection: number;
  remote: string;
  /** The authenticated user, once HELLO's token matched one (absent on an open server and before): every event after it names who acted (the audit trail). */
  user?: string;
}

export interface UploadStartedEvent extends PeerInfo {
  /** Name the client asked for (for raw uploads: null, the name is chosen on publish). */
  name: string | null;
  /** Declared size; null for raw uploads, whose size is known only at EOF. */
  size: number | null;
  raw: boolean;
  /** For a resumed upload: the offset it continued from. */
  resumedFrom?: number;
}

export interface UploadStoredEvent extends PeerInfo {
  /** Name the file was published under (may differ from the requested one). */
  name: string;
  requestedName: string | null;
  size: number;
  /** What the upload was verified and recorded with (the connection's digest). */
  digest: FileDigest;
  durationMs: number;
  raw: boolean;
  /** What happened to the name (see the PUT's onConflict policy; "created" for raw uploads). */
  outcome: PublishOutcome;
}

export interface DownloadSentEvent extends PeerInfo {
  name: string;
  size: number;
  /** What GET_END carried (the connection's digest). */
  digest: FileDigest;
  durationMs: number;
  /** Bytes the client already held (not sent). */
  resumedFrom: number;
}

export interface RequestFailedEvent extends PeerInfo {
  request: "get" | "list" | "delete" | "share" | "share_list" | "share_revoke";
  name: string | null;
  code: ServerErrorCode;
  message: string;
}

export interface UploadFailedEvent extends PeerInfo {
  name: string | null;
  code: ServerErrorCode;
  message: string;
  raw: boolean;
}

export interface ConnectionClosedEvent extends PeerInfo {
  stored: number;
  failed: number;
}

export interface ConnectionRejectedEvent {
  remote: string;
  code: ServerErrorCode;
}

/** A connection gave its slot to a new one because the server was full (protocol.md §7). */
export interface ConnectionEvictedEvent extends PeerInfo {
  /** "unproven": never authenticated (open server: never sent a request); "idle": between requests. */
  reason: "unproven" | "idle";
  /** How long it had been so, in ms. */
  idleMs: number;
}

export interface ListeningEvent {
  host: string;
  port: number;
  dir: string;
  /** No users configured: anyone who reaches the port may read, write and delete. */
  open: boolean;
  /** Raw (lab-format) uploads are accepted. */
  raw: boolean;
  /** With TLS: the certificate's fingerprint ("SHA256:…"), for clients to pin. */
  tlsFingerprint: string | null;
}

/** Event map of FerryServer; each event carries one typed object. */
export interface ServerEvents {
  listening: [ListeningEvent];
  /** HELLO's token matched a user. */
  authenticated: [PeerInfo & { user: string }];
  connection: [PeerInfo];
  "connection-rejected": [ConnectionRejectedEvent];
  "connection-evicted": [ConnectionEvictedEvent];
  "connection-closed": [ConnectionClosedEvent];
  "upload-started": [UploadStartedEvent];
  "upload-stored": [UploadStoredEvent];
  "upload-failed": [UploadFailedEvent];
  "download-sent": [DownloadSentEvent];
  /** A DELETE was served (`size`: the file's bytes; 0 for an empty folder). */
  deleted: [PeerInfo & { name: string; size: number }];
  /** A GET, LIST or DELETE was answered with an error (the connection goes on). */
  "request-failed": [RequestFailedEvent];
  /** A connection ended on an error (protocol violation, timeout, shutdown) after being told why. */
  "connection-error": [PeerInfo & { code: ServerErrorCode; message: string }];
  /** A bug: an exception the server did not expect, with its stack. The connection gets INTERNAL_ERROR and is closed. */
  "internal-error": [PeerInfo & { message: string; stack: string }];
  /** A LIST was answered (`path`: the folder, null for the whole store). */
  listed: [PeerInfo & { path: string | null; entries: number }];
  /** HELLO's token was missing or matched no user (`blocked`: the address is refused for too many failures). */
  "auth-failed": [PeerInfo & { code: "AUTH_REQUIRED" | "AUTH_FAILED"; blocked: boolean }];
  /** Files (and their folders) were made durable together: how many, and how long the fsync took. */
  fsync: [{ files: number; durationMs: number }];
  /** The sweeper removed resumable uploads nobody resumed within partialTtlMs. */
  "partials-swept": [{ count: number }];
  /** reload() took a new configuration (users, tokens, limits, TLS) for new connections and requests. */
  reloaded: [{ users: number; retired: number }];
  /** A share link was made (`fingerprint`: its public handle; the secret is never in an event). */
  "share-created": [PeerInfo & { fingerprint: string; kind: "download" | "upload"; paths: string[]; expiresAt: number }];
  /** A share link's file (or a folder's zip, `zip` true) was served over HTTP from `from` (a resumed download) to its end or to where the visitor stopped. */
  "share-downloaded": [{ remote: string; fingerprint: string; name: string; zip: boolean; from: number; bytes: number; complete: boolean }];
  /** A file dropped into an upload link was verified and published (`resumedFrom`: bytes it already held when this request began). */
  "share-uploaded": [{ remote: string; fingerprint: string; name: string; size: number; sha256: string; resumedFrom: number }];
  /** A share link was revoked by its owner. */
  "share-revoked": [PeerInfo & { fingerprint: string }];
  closed: [];
}
