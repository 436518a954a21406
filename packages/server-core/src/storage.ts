import type { ConflictPolicy, DigestAlgorithm, FileDigest, ListEntry, PublishOutcome } from "@ferry/protocol";
import type { IncomingFile } from "./incoming-file.js";

/**
 * The storage seam (docs/scale-out.md): everything the protocol side of the server asks of where
 * files live. Two implementations: StorageRoot (a local directory, the default; the directory is
 * the source of truth) and @ferry/cluster-store's ClusterStorage (bytes in an S3 object store,
 * names in PostgreSQL). Both run the contract suite in `@ferry/server-core/testing`.
 *
 * Names given to it are client names, unchecked: every method that takes one checks it
 * (protocol.md §6) and throws ServerError BAD_NAME, NOT_FOUND, ALREADY_EXISTS, STORAGE_ERROR…
 */
export interface Storage {
  /** Where the files are, for people: a real directory path, or "s3://bucket (postgres)". */
  readonly location: string;
  /**
   * The transfer digests uploads can be received with here (SHA-256 always): a connection
   * negotiates one of these. A store that keeps hash states between servers names only those it can save.
   */
  readonly digests: readonly DigestAlgorithm[];
  /** Throws BAD_NAME unless `name` could be stored here. */
  checkName(name: string): void;
  /** Throws NO_SPACE unless `size` more bytes leave at least `minFree` free (a store without a limit always has room). */
  ensureRoom(size: number, minFree: number): Promise<void>;
  /** A new upload of `size` bytes (null: unknown, raw), hashed with `algorithm` (default SHA-256); invisible until published. */
  createIncoming(size: number | null, algorithm?: DigestAlgorithm): Promise<IncomingFile>;
  /** A new upload of a small known size (≤ 64 KiB): a batch's file. Synchronous: batches take their files in order. */
  createSmall(size: number, algorithm?: DigestAlgorithm): IncomingFile;
  /**
   * The resumable upload `key` (created if new) and the offset it verifiably holds. One
   * connection at a time, across every server sharing the store: another gets IN_PROGRESS.
   */
  openResumable(key: string, header: PartialHeader, algorithm?: DigestAlgorithm): Promise<{ file: ResumableUpload; offset: number }>;
  /**
   * Publishes a finished upload (one this storage created) under `name` following `policy`
   * (protocol.md §6); with `skipIdentical`, a file already there with the same size and
   * recorded digest (same algorithm, same value) is left as it is ("unchanged"). Atomic: readers see the old file or the new.
   */
  publish(file: IncomingFile, name: string, policy: ConflictPolicy, facts: Facts, skipIdentical?: boolean): Promise<Published>;
  /** Publishes a raw upload as output<N>.txt with the lowest free N (the lab's naming). */
  publishRaw(file: IncomingFile, facts: Facts): Promise<string>;
  /** Opens a stored file for reading; NOT_FOUND unless it is one. One version, whatever is published meanwhile. */
  openForRead(name: string): Promise<StoredReader>;
  /** Every stored file under folder `prefix` (default: all), sorted by code point, with recorded digests (listedDigest). */
  list(prefix?: string, options?: { emptyFolders?: boolean }): Promise<ListEntry[]>;
  /** Deletes a stored file; returns its size. NOT_FOUND unless it is one. */
  remove(name: string): Promise<number>;
  /** Removes the empty folder `folder`; NOT_FOUND unless it is one. */
  removeFolder(folder: string): Promise<void>;
  /** Deletes resumable uploads untouched for `ttlMs` (and not being received); returns how many. */
  sweepPartials(ttlMs: number): Promise<number>;
  /** The quota ledger for this storage with `limit` bytes (shared by every server on the same store). */
  quota(limit: number): Promise<QuotaLedger>;
  /** Storage for a user's folder inside this one (made if missing); the same object for the same folder. */
  folder(relative: string): Promise<Storage>;
  /** Throws unless the storage can be written now (readiness): a file made and removed, or the store and database answering. */
  probe(): Promise<void>;
  /** Bytes that may still be stored (local: free disk space); null where the store has no such figure. */
  freeBytes(): Promise<number | null>;
  /** Resumable uploads being received now on this server. */
  resumableInProgress(): number;
  /** Releases what it holds (index logs, database pools). */
  close(): Promise<void>;
}

/** Size and digest of a verified upload, recorded when it is published. */
export interface Facts {
  size: number;
  digest: FileDigest;
}

export interface Published {
  name: string;
  outcome: PublishOutcome;
}

/** What a resumable upload belongs to; a PUT that differs in any field starts it over. */
export interface PartialHeader {
  name: string;
  size: number;
  chunkSize: number;
}

/** A resumable upload: an IncomingFile that can continue where an earlier connection left it. */
export interface ResumableUpload extends IncomingFile {
  /** Digests of the chunks it verifiably holds (what PUT_OFFER carries). */
  readonly chunks: string[];
  /** Continues at `offset`: the offered offset keeps the prefix, 0 starts over (UNEXPECTED_MESSAGE otherwise). */
  startAt(offset: number): Promise<void>;
}

/** A stored file opened for reading: one version, read by position. */
export interface StoredReader {
  readonly size: number;
  /** The digest recorded when this version was published; null for a file Ferry never verified (put in the folder by hand). */
  readonly digest: FileDigest | null;
  /** Modification time of this version, milliseconds since the Unix epoch. */
  readonly mtime: number;
  /** Reads `length` bytes at `position` into `buffer` (fewer only where the file ends); 0 at the end. */
  read(buffer: Buffer, length: number, position: number): Promise<number>;
  close(): void;
}

/**
 * Bytes a user's folder holds, against their quota. Uploads in flight reserve their declared size
 * up front and interrupted uploads waiting to be resumed count with the bytes they hold, so neither
 * parallel uploads nor resetting connections can pass the limit.
 */
export interface QuotaLedger {
  readonly limit: number;
  /**
   * Reserves `size` bytes or throws QUOTA_EXCEEDED; returns what to call once the upload ends.
   * `resuming` names the partial this upload continues, whose bytes the reservation itself covers.
   */
  reserve(size: number, resuming?: string): Promise<(stored: boolean) => void>;
  /** A file of `size` bytes was deleted. */
  released(size: number): void;
  /** Bytes stored now (for metrics). */
  usedBytes(): Promise<number>;
}
