import { AuthFailures, type AuthFailureLedger, type FailureLimits } from "@ferry/server-core";

/**
 * Wrong passwords per address and link: after `max` failures in `windowMs` the address gets 429
 * for that link until the window passes (on top of the per-address request rate limit and
 * scrypt's cost), so a link's password cannot be guessed at speed. The count lives in an
 * AuthFailureLedger: this listener's own, or, under `ferry-server --workers N`, the primary's, so
 * spreading guesses over workers gains nothing.
 */
/** What the password count needs of an AuthFailureLedger: failures are recorded, never tries. */
export type PasswordFailureLedger = Pick<AuthFailureLedger, "isBlocked" | "end">;

export class UnlockFailures {
  readonly #ledger: PasswordFailureLedger;
  readonly #limits: FailureLimits;

  constructor(ledger: PasswordFailureLedger = new AuthFailures(), max = 10, windowMs = 15 * 60_000) {
    this.#ledger = ledger;
    this.#limits = { maxFailures: max, blockMs: windowMs };
  }

  blocked(ip: string, fingerprint: string): Promise<boolean> {
    return this.#ledger.isBlocked(`${ip} ${fingerprint}`, this.#limits);
  }

  failed(ip: string, fingerprint: string, now: number): void {
    this.#ledger.end(`${ip} ${fingerprint}`, true, now, this.#limits);
  }
}
