import { lstat, readdir, unlink } from "node:fs/promises";
import path from "node:path";
import { PARTIAL_PREFIX } from "@ferry/node-io";
import { ServerError } from "./errors.js";

/**
 * Who receives which resumable upload of one storage folder, and what interrupted ones hold: the
 * IN_PROGRESS lock, the maxPartials bound and the bytes quotas count. One table per folder, in one
 * process: the server's own (PartialTable), or, with `ferry-server --workers N`, the primary's,
 * reached from each worker through @ferry/server-workers, so the lock holds across workers.
 */
export interface PartialLedger {
  /**
   * Marks `key` as being received (IN_PROGRESS if it already is). A new key first makes room: past
   * maxPartials, the one suspended longest ago is deleted.
   */
  claim(key: string): Promise<void>;
  /** The claim's upload could not be opened: as if it had never been claimed. */
  unclaim(key: string): void;
  /** The upload stopped with `bytes` on disk, to be resumed later: they count against quotas again. */
  suspended(key: string, bytes: number): void;
  /** The upload is no longer received (finished, failed or suspended). */
  closed(key: string): void;
  /** Resumable uploads being received now. */
  activeCount(): number;
  /** Deletes interrupted uploads untouched for `ttlMs` (and not being received); returns how many. */
  sweep(ttlMs: number): Promise<number>;
}

/** The in-process PartialLedger of one folder (and, in a primary, the one every worker asks). */
export class PartialTable implements PartialLedger {
  readonly #dir: string;
  readonly #maxPartials: number;
  readonly #active = new Set<string>();
  /**
   * Bytes of partial uploads on disk waiting to be resumed (not being received now), by key: they
   * count against quotas. In the order they were last suspended, oldest first (the first evicted).
   */
  readonly #waiting = new Map<string, number>();
  /** What a claimed key was waiting with, to put back if its upload cannot be opened. */
  readonly #claimedFrom = new Map<string, number>();

  constructor(dir: string, maxPartials = Infinity) {
    this.#dir = dir;
    this.#maxPartials = maxPartials;
  }

  async claim(key: string): Promise<void> {
    if (this.#active.has(key)) throw new ServerError("this upload is being sent on another connection", { code: "IN_PROGRESS" });
    const waiting = this.#waiting.get(key);
    // Marked before anything is awaited, so a second claim of the same key meanwhile is refused.
    this.#active.add(key);
    // While it is received, the upload's quota reservation covers its bytes; suspended, they count again.
    this.#waiting.delete(key);
    if (waiting !== undefined) this.#claimedFrom.set(key, waiting);
    else await this.#makeRoom();
  }

  unclaim(key: string): void {
    this.#active.delete(key);
    const waiting = this.#claimedFrom.get(key);
    this.#claimedFrom.delete(key);
    if (waiting !== undefined) this.#waiting.set(key, waiting);
  }

  suspended(key: string, bytes: number): void {
    this.#waiting.delete(key); // re-inserted last: the most recently used
    this.#waiting.set(key, bytes);
  }

  closed(key: string): void {
    this.#active.delete(key);
    this.#claimedFrom.delete(key);
  }

  activeCount(): number {
    return this.#active.size;
  }

  /** Bytes held by partial uploads waiting to be resumed, but for the one with key `except`. */
  waitingBytes(except?: string): number {
    let bytes = 0;
    for (const [key, size] of this.#waiting) if (key !== except) bytes += size;
    return bytes;
  }

  /**
   * A new partial is about to be made: past maxPartials, the one suspended longest ago goes (a
   * user cannot pile up interrupted uploads, protocol.md §4.2). Partials being received are never
   * evicted; there are at most as many of them as connections.
   */
  async #makeRoom(): Promise<void> {
    while (this.#waiting.size > 0 && this.#waiting.size + this.#active.size > this.#maxPartials) {
      await this.#delete(this.#waiting.keys().next().value!);
    }
  }

  /** Removes a partial upload's data and journal, and stops counting it. */
  async #delete(key: string): Promise<void> {
    this.#waiting.delete(key);
    const data = path.join(this.#dir, `${PARTIAL_PREFIX}${key}`);
    await unlink(data).catch(() => undefined);
    await unlink(`${data}.journal`).catch(() => undefined);
  }

  async sweep(ttlMs: number): Promise<number> {
    let swept = 0;
    const now = Date.now();
    const kept: { key: string; size: number; mtime: number }[] = [];
    for (const entry of await readdir(this.#dir)) {
      if (!entry.startsWith(PARTIAL_PREFIX) || entry.endsWith(".journal")) continue;
      const key = entry.slice(PARTIAL_PREFIX.length);
      if (this.#active.has(key)) continue;
      const data = path.join(this.#dir, entry);
      const info = await lstat(data).catch(() => undefined);
      if (info && now - info.mtimeMs < ttlMs) {
        kept.push({ key, size: info.size, mtime: info.mtimeMs });
        continue;
      }
      if (!info) {
        this.#waiting.delete(key);
        continue;
      }
      await this.#delete(key);
      swept++;
    }
    // Kept ones are counted; at start-up this fills the map, oldest first as eviction expects.
    for (const { key, size } of kept.sort((a, b) => a.mtime - b.mtime)) {
      if (!this.#active.has(key)) this.#waiting.set(key, size);
    }
    return swept;
  }
}
