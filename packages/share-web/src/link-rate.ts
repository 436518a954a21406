/**
 * Requests per link per minute, whoever makes them (the per-address limit is @fastify/rate-limit's):
 * a link posted somewhere public cannot be made to serve without bound. A one-minute window per
 * link from its first request, as @fastify/rate-limit counts addresses; links not seen for a
 * window are forgotten.
 */
export class LinkRate {
  readonly #counts = new Map<string, { since: number; count: number }>();

  constructor(readonly perMinute: number) {}

  /** Counts a request for link `key` at `now` (ms); false when the link is past its rate in this window. */
  take(key: string, now: number): boolean {
    const entry = this.#counts.get(key);
    if (!entry || now - entry.since >= 60_000) {
      if (this.#counts.size > 100_000) this.#forgetOlderThan(now - 60_000);
      this.#counts.set(key, { since: now, count: 1 });
      return true;
    }
    entry.count++;
    return entry.count <= this.perMinute;
  }

  #forgetOlderThan(time: number): void {
    for (const [key, entry] of this.#counts) if (entry.since < time) this.#counts.delete(key);
  }
}
