/**
 * Bytes of file data a server holds in memory on their way to the object store (parts being
 * filled or sent), bounded server-wide. An upload takes a whole part's worth before it fills the
 * part, so every holder can always finish what it holds and give it back: waiting never deadlocks.
 */
export class ByteBudget {
  readonly limit: number;
  #used = 0;
  readonly #waiting: { bytes: number; resolve: () => void }[] = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` if they fit now. */
  tryTake(bytes: number): boolean {
    if (this.#waiting.length > 0 || (this.#used + bytes > this.limit && this.#used > 0)) return false;
    this.#used += bytes;
    return true;
  }

  /** Takes `bytes`, waiting (first come, first served) until they fit. A request above the limit waits for an empty budget. */
  take(bytes: number): Promise<void> {
    if (this.tryTake(bytes)) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ bytes, resolve }));
  }

  /** Takes `bytes` at once, even past the limit (small files, bounded by the protocol's batch limits). */
  takeNow(bytes: number): void {
    this.#used += bytes;
  }

  give(bytes: number): void {
    this.#used -= bytes;
    while (this.#waiting.length > 0) {
      const next = this.#waiting[0]!;
      if (this.#used + next.bytes > this.limit && this.#used > 0) break;
      this.#waiting.shift();
      this.#used += next.bytes;
      next.resolve();
    }
  }
}
