/** How far ahead of its rate a pacer lets a burst go (one socket write or read is not split). */
const BURST_MS = 50;

/**
 * Keeps a byte stream at `bytesPerSecond` (--bwlimit) without busy-waiting: every chunk moves the
 * time at which the bytes so far are "paid for"; the caller waits (a timer, or a paused socket)
 * until then. An idle stream earns no credit beyond BURST_MS, so a pause is not followed by a burst.
 */
export class RatePacer {
  readonly bytesPerSecond: number;
  #paidUntil = 0;

  constructor(bytesPerSecond: number) {
    this.bytesPerSecond = bytesPerSecond;
  }

  /** Counts `bytes` as moved now; returns how long (ms) to wait before moving more. */
  spend(bytes: number): number {
    const now = performance.now();
    this.#paidUntil = Math.max(this.#paidUntil, now - BURST_MS) + (bytes * 1000) / this.bytesPerSecond;
    return this.waitMs(now);
  }

  /** How long (ms) until the bytes moved so far are paid for; 0 when more may move now. */
  waitMs(now = performance.now()): number {
    return Math.max(0, this.#paidUntil - now);
  }
}
