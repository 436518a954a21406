/**
 * Wrong passwords per address and link: after `max` failures in `windowMs` the address gets 429
 * for that link until the window passes (on top of the per-address request rate limit and
 * scrypt's cost), so a link's password cannot be guessed at speed.
 */
export class UnlockFailures {
  readonly #failures = new Map<string, number[]>();

  constructor(
    readonly max = 10,
    readonly windowMs = 15 * 60_000,
  ) {}

  blocked(ip: string, fingerprint: string, now: number): boolean {
    return this.#recent(`${ip} ${fingerprint}`, now).length >= this.max;
  }

  failed(ip: string, fingerprint: string, now: number): void {
    const key = `${ip} ${fingerprint}`;
    const recent = this.#recent(key, now);
    recent.push(now);
    this.#failures.set(key, recent);
    // Bounded memory: forget the oldest addresses first once many are tracked.
    if (this.#failures.size > 100_000) this.#failures.delete(this.#failures.keys().next().value!);
  }

  #recent(key: string, now: number): number[] {
    return (this.#failures.get(key) ?? []).filter((at) => now - at < this.windowMs);
  }
}
