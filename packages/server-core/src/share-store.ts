import type { ShareRecord } from "./share-links.js";

/**
 * The share-link seam (docs/sharing.md): where links live. Two implementations: LocalShareStore (a
 * JSON file in the storage dir, the default) and @ferry/cluster-store's PgShareStore (a table
 * every server of a cluster shares). Both run `@ferry/server-core/share-store-contract`.
 *
 * Counters change only through countDownload/countUpload, which are atomic: two servers serving
 * the last download of a link cannot both serve it.
 */
export interface ShareStore {
  /** Stores a new link (its key is new: 192 random bits). */
  create(record: ShareRecord): Promise<void>;
  /** The link stored under `key`, live or not; undefined if there is none. */
  get(key: string): Promise<ShareRecord | undefined>;
  /** `owner`'s links, oldest first (null: the anonymous peers' links). */
  list(owner: string | null): Promise<ShareRecord[]>;
  /**
   * Deletes `owner`'s link named by its key, or by a fingerprint (a prefix of the key, at least 12
   * hex digits) that names exactly one of their links; returns it, or undefined if none matched.
   */
  remove(owner: string | null, keyOrFingerprint: string): Promise<ShareRecord | undefined>;
  /** Counts one download if the link is live at `now` and has downloads left; false otherwise. */
  countDownload(key: string, now: number): Promise<boolean>;
  /** Counts an uploaded file of `bytes` if the link is live and stays within maxFiles and maxBytes; false otherwise. */
  countUpload(key: string, bytes: number, now: number): Promise<boolean>;
  /** Deletes links that expired before `before`; returns how many. */
  sweep(before: number): Promise<number>;
  close(): Promise<void>;
}

/** How a fingerprint or key given by a user is matched: lowercase hex, 12 to 64 digits. */
export const SHARE_HANDLE = /^[0-9a-f]{12,64}$/;
