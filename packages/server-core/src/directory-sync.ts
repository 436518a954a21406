import { closeSync, openSync } from "node:fs";
import { FsyncBatch } from "./fsync-batch.js";

/**
 * fsync(2) of directories, shared. A published name is durable once its directory is synced, and
 * one sync covers every entry made before it started. So callers that arrive while a sync of the
 * same directory runs all wait for the one next sync instead of each running their own: a folder
 * of 10,000 small files needs a few hundred directory syncs, not 10,000 (with their open and close).
 */
export class DirectorySync {
  /** fsyncs actually run (a regression guard counts them). */
  performed = 0;
  readonly #state = new Map<string, { running?: Promise<void>; next?: Promise<void> }>();
  readonly #fsync: FsyncBatch;

  constructor(fsync = new FsyncBatch()) {
    this.#fsync = fsync;
  }

  sync(dir: string): Promise<void> {
    let state = this.#state.get(dir);
    if (!state) {
      state = {};
      this.#state.set(dir, state);
    }
    const s = state;
    if (s.next) return s.next;
    const start = (): Promise<void> => {
      this.performed++;
      const run = this.#syncDirectory(dir);
      s.running = run;
      void run
        .catch(() => undefined)
        .then(() => {
          if (s.running === run) s.running = undefined;
          if (!s.running && !s.next) this.#state.delete(dir);
        });
      return run;
    };
    if (!s.running) return start();
    // Entries made now may have missed the running sync: they get the next one, shared.
    const next = s.running.catch(() => undefined).then(() => {
      s.next = undefined;
      return start();
    });
    s.next = next;
    return next;
  }

  /**
   * Open and close are synchronous (docs/performance.md, "Synchronous metadata calls"); the fsync, which
   * waits for the disk, joins the batch.
   */
  async #syncDirectory(dir: string): Promise<void> {
    const fd = openSync(dir, "r");
    try {
      await this.#fsync.sync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
