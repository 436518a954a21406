import { ServerError } from "./errors.js";
import type { QuotaLedger } from "./storage.js";
import type { StorageRoot } from "./storage-root.js";

/**
 * The local directory's QuotaLedger. Bytes a user's folder holds, against their quota. Counted once from a listing, then kept by
 * the server as uploads publish and deletes remove. Uploads in flight reserve their declared
 * size up front, so concurrent uploads cannot together pass the limit, and interrupted uploads
 * waiting to be resumed count with the bytes they hold, so resetting connections cannot either. An overwrite is counted
 * as new bytes (the old file's size is not subtracted): conservative, never over the limit.
 */
export class Quota implements QuotaLedger {
  readonly limit: number;
  readonly #storage: StorageRoot;
  #used: number;
  #reserved = 0;

  private constructor(limit: number, used: number, storage: StorageRoot) {
    this.limit = limit;
    this.#used = used;
    this.#storage = storage;
  }

  static async measure(storage: StorageRoot, limit: number): Promise<Quota> {
    const entries = await storage.list();
    return new Quota(limit, entries.reduce((sum, entry) => sum + entry.size, 0), storage);
  }

  get used(): number {
    return this.#used;
  }

  /**
   * Reserves `size` bytes or throws QUOTA_EXCEEDED; returns what to call once the upload ends.
   * Interrupted uploads waiting on disk count from their first byte; `resuming` names the partial
   * this upload continues, whose bytes the reservation itself covers.
   */
  async reserve(size: number, resuming?: string): Promise<(stored: boolean) => void> {
    const waiting = this.#storage.waitingPartialBytes(resuming);
    if (this.#used + this.#reserved + waiting + size > this.limit) {
      throw new ServerError(
        `storing ${size} bytes would pass your quota (${this.#used} of ${this.limit} bytes used, ${this.#reserved} reserved by uploads in progress, ${waiting} held by interrupted uploads waiting to be resumed)`,
        { code: "QUOTA_EXCEEDED" },
      );
    }
    this.#reserved += size;
    let settled = false;
    return (stored) => {
      if (settled) return;
      settled = true;
      this.#reserved -= size;
      if (stored) this.#used += size;
    };
  }

  async usedBytes(): Promise<number> {
    return this.#used;
  }

  /** A file of `size` bytes was deleted. */
  released(size: number): void {
    this.#used = Math.max(0, this.#used - size);
  }
}
