/** The limits of failed authentications, from the configuration in force. */
export interface FailureLimits {
  maxFailures: number;
  blockMs: number;
}

/** A token may be checked, or the address is refused until `liftsAt` (ms since the epoch; null: only guesses still waiting out their delay). */
export type TryVerdict = { ok: true } | { ok: false; liftsAt: number | null };

/**
 * Failed authentications per address: the count behind auth-failure blocking. One per server (the
 * AuthFailures below), or, with `ferry-server --workers N`, the primary's, reached from each worker
 * through @ferry/server-workers, so an address blocked by one worker is blocked by all.
 */
export interface AuthFailureLedger {
  /**
   * Takes a try for `ip` before its token is checked. A try in flight counts as a failure already,
   * so many parallel connections cannot each get a guess in before the first failure is recorded.
   */
  begin(ip: string, limits: FailureLimits): Promise<TryVerdict>;
  /** The try ended: with `failed`, a failure is recorded at `at`; else it is given back. */
  end(ip: string, failed: boolean, at: number, limits: FailureLimits): void;
  /** Whether `ip` is refused now. */
  isBlocked(ip: string, limits: FailureLimits): Promise<boolean>;
  /** Addresses refused now. */
  blockedAddresses(limits: FailureLimits): Promise<number>;
}

const MAX_TRACKED_IPS = 100_000;

/** The in-process AuthFailureLedger (and, in a primary, the one every worker asks). */
export class AuthFailures implements AuthFailureLedger {
  /** Failure times per IP, oldest first; pruned as they age out of the window. */
  readonly #failures = new Map<string, number[]>();
  /** Tries per IP whose token is being checked or whose failure is waiting out its delay. */
  readonly #pending = new Map<string, number>();

  // Async for the seam; nothing here awaits, so a check and its count happen together.
  async begin(ip: string, limits: FailureLimits): Promise<TryVerdict> {
    if (this.#recent(ip, limits) + (this.#pending.get(ip) ?? 0) >= limits.maxFailures) {
      const oldest = this.#failures.get(ip)?.[0];
      return { ok: false, liftsAt: oldest === undefined ? null : oldest + limits.blockMs };
    }
    this.#pending.set(ip, (this.#pending.get(ip) ?? 0) + 1);
    return { ok: true };
  }

  end(ip: string, failed: boolean, at: number, limits: FailureLimits): void {
    const left = (this.#pending.get(ip) ?? 1) - 1;
    if (left > 0) this.#pending.set(ip, left);
    else this.#pending.delete(ip);
    if (!failed) return;
    this.#failures.set(ip, [...(this.#failures.get(ip) ?? []), at].slice(-limits.maxFailures));
    // Bounded memory under a spray from many addresses: forget the longest-known ones first.
    if (this.#failures.size > MAX_TRACKED_IPS) this.#failures.delete(this.#failures.keys().next().value!);
  }

  async isBlocked(ip: string, limits: FailureLimits): Promise<boolean> {
    return this.#recent(ip, limits) >= limits.maxFailures;
  }

  async blockedAddresses(limits: FailureLimits): Promise<number> {
    let blocked = 0;
    for (const ip of [...this.#failures.keys()]) if (this.#recent(ip, limits) >= limits.maxFailures) blocked++;
    return blocked;
  }

  #recent(ip: string, limits: FailureLimits): number {
    const since = Date.now() - limits.blockMs;
    const recent = (this.#failures.get(ip) ?? []).filter((at) => at > since);
    if (recent.length === 0) this.#failures.delete(ip);
    else this.#failures.set(ip, recent);
    return recent.length;
  }
}
