import type { ConflictPolicy, ListEntry, PublishOutcome } from "@ferry/protocol";

/**
 * The names seam (docs/scale-out.md): which path holds which object, with its size, SHA-256 and
 * time; the folders made empty on purpose; quota reservations; resumable upload sessions; objects
 * waiting to be deleted. Every decision two servers could race on (a name taken, a quota passed, a
 * session claimed) is one transaction here. PgCatalog is the implementation; catalog.contract.ts
 * is the suite it runs.
 *
 * Paths are full paths from the store's root ("alice/notes.txt"); a space is a folder prefix
 * ("alice/", or "" for the whole store). Names reaching the catalog are already checked.
 */
export interface Catalog {
  readonly location: string;
  /** The file at `path`, if one is stored there. */
  lookup(path: string): Promise<CatalogFile | undefined>;
  /**
   * Points `path` at `object` under `policy` (protocol.md §6) in one transaction: "rename" takes
   * the first free `name (N).ext`; "overwrite" replaces a file (never a folder) and returns the
   * object it replaced, for the caller to delete; with `skipIdentical`, a file of the same size and
   * SHA-256 is "unchanged". BAD_NAME when a folder above it is a file; ALREADY_EXISTS for "fail".
   */
  publish(path: string, object: StoredObject, policy: ConflictPolicy, skipIdentical: boolean): Promise<CatalogPublished>;
  /** Points the first free `name(n)` (n = start, start+1…) at `object`; returns the name. */
  publishFirstFree(name: (n: number) => string, start: number, object: StoredObject): Promise<string>;
  /** Makes folder `path` (capability empty-folders); "unchanged" if it exists. */
  makeFolder(path: string): Promise<"created" | "unchanged">;
  /** Removes the empty folder `path` and the made folders above it it leaves empty; NOT_FOUND otherwise. */
  removeFolder(path: string): Promise<void>;
  /** Removes the file at `path` (NOT_FOUND if none) and made folders it leaves empty; returns what it held. */
  remove(path: string): Promise<CatalogFile>;
  /** The files (and with `emptyFolders`, empty folders as "path/") under folder `prefix` ("" = all), by code point. NOT_FOUND if no such folder. */
  list(prefix: string, emptyFolders: boolean): Promise<ListEntry[]>;
  /** Bytes of the files under `space`. */
  used(space: string): Promise<number>;
  /**
   * Reserves `size` bytes of `space`'s `limit` (QUOTA_EXCEEDED otherwise), counting stored files,
   * other live reservations and resumable uploads waiting to be resumed (but `resuming`). Returns
   * the reservation's id for settle().
   */
  reserve(space: string, limit: number, size: number, resuming?: string): Promise<number>;
  settle(reservation: number): Promise<void>;
  /** Claims resumable session `key` for this server (false: held by another connection, here or on another server). */
  claim(key: string): Promise<boolean>;
  /** Sessions this server holds now. */
  claimedCount(): number;
  /** Gives a claimed session back (suspended or gone). */
  unclaim(key: string): Promise<void>;
  session(key: string): Promise<Session | undefined>;
  saveSession(session: Session): Promise<void>;
  deleteSession(key: string): Promise<void>;
  /**
   * Sessions untouched for `ttlMs` or more that no live server holds, each removed from the catalog and
   * returned to exactly one caller (whichever server sweeps first aborts its upload).
   */
  takeExpiredSessions(ttlMs: number): Promise<Session[]>;
  /** Marks an object for deletion once `graceMs` have passed (downloads in flight may still read it). */
  trash(object: string, graceMs: number): Promise<void>;
  /** Objects whose grace has passed, each returned once. */
  takeTrash(): Promise<string[]>;
  /** Which of `objects` a file, a session or the trash still refers to. */
  referenced(objects: readonly string[]): Promise<Set<string>>;
  /** Whether the catalog answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface StoredObject {
  key: string;
  size: number;
  sha256: string;
}

export interface CatalogFile extends StoredObject {
  path: string;
  mtime: number;
}

export interface CatalogPublished {
  name: string;
  outcome: PublishOutcome;
  /** An object no name points at any more (overwritten), to delete. */
  replaced: string | null;
}

/** A resumable upload in progress: where its bytes are and how to continue them on any server. */
export interface Session {
  key: string;
  space: string;
  name: string;
  size: number;
  chunkSize: number;
  object: string;
  uploadId: string;
  /** Bytes committed to the store (a whole number of parts, and of chunks). */
  offset: number;
  parts: { number: number; etag: string }[];
  /** SHA-256 of each chunk of the committed bytes (what PUT_OFFER carries). */
  chunks: string[];
  /** The whole-file SHA-256 state after `offset` bytes (hash-wasm save()). */
  hashState: Uint8Array;
}
