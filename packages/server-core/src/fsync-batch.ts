import { fsync } from "node:fs";

/**
 * fsync(2) requests gathered over one turn of the event loop and handed to the thread pool back
 * to back. Issued one at a time, between the JavaScript work of the next upload, each sync found
 * the pool's threads asleep and paid a thread wake-up: ~30 µs of CPU per call on the 2-core
 * development VM, more than the sync itself costs on tmpfs. Issued together, one wake-up serves
 * the batch and the pool's threads run the syncs in parallel, which is also what lets a journaling
 * file system commit them together (W2, 10,000 files of 4 KiB; figures in docs/performance.md).
 */
export class FsyncBatch {
  #pending: { fd: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  /** Batches issued so far (a regression guard counts them). */
  batches = 0;
  /** Told how long each batch took, from issue to its last sync (metrics). */
  readonly #observe: ((files: number, durationMs: number) => void) | undefined;

  constructor(observe?: (files: number, durationMs: number) => void) {
    this.#observe = observe;
  }

  /** Resolves once `fd`'s data and metadata are on stable storage. */
  sync(fd: number): Promise<void> {
    return new Promise((resolve, reject) => {
      // setImmediate runs after this turn's socket reads: every upload finished in it joins.
      if (this.#pending.length === 0) setImmediate(() => this.#issue());
      this.#pending.push({ fd, resolve, reject });
    });
  }

  #issue(): void {
    const batch = this.#pending;
    this.#pending = [];
    this.batches++;
    const started = performance.now();
    let left = batch.length;
    const settled = (): void => {
      if (--left === 0) this.#observe?.(batch.length, performance.now() - started);
    };
    for (const { fd, resolve, reject } of batch) {
      try {
        fsync(fd, (error) => {
          settled();
          if (error) reject(error);
          else resolve();
        });
      } catch (error) {
        settled();
        reject(error as Error); // an invalid descriptor throws at once; the rest of the batch still goes
      }
    }
  }
}
