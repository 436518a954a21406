import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Permission, UserConfig } from "@ferry/protocol";
import { ServerError } from "./errors.js";
import { AuthFailures, type AuthFailureLedger } from "./auth-failures.js";

export interface AuthOptions {
  failureDelayMs: number;
  maxFailures: number;
  blockMs: number;
}

/** Who a connection speaks for: a configured user, or anyone (an open server). */
export interface Identity {
  user: UserConfig | null;
  can(permission: Permission): boolean;
}

const ANYONE: Identity = { user: null, can: () => true };

/**
 * Checks HELLO tokens against the configured users. Tokens are compared as SHA-256 digests with
 * timingSafeEqual against every user (no early exit), so the time taken says nothing about which
 * bytes matched. A bad token is answered only after `failureDelayMs`, and an IP that fails
 * `maxFailures` times within `blockMs` is refused without a check until the window passes (the
 * count lives in an AuthFailureLedger: this server's, or a primary's shared by its workers).
 */
export class Authenticator {
  #users: { user: UserConfig; digest: Buffer }[];
  #options: AuthOptions;
  readonly #failures: AuthFailureLedger;

  constructor(users: readonly UserConfig[], options: AuthOptions, failures: AuthFailureLedger = new AuthFailures()) {
    this.#users = users.map((user) => ({ user, digest: Buffer.from(user.tokenSha256, "hex") }));
    this.#options = options;
    this.#failures = failures;
  }

  /**
   * New users, tokens and limits (a reload): new authentications use them; failure counts are kept,
   * so a reload does not unblock an address.
   */
  replace(users: readonly UserConfig[], options: AuthOptions): void {
    this.#users = users.map((user) => ({ user, digest: Buffer.from(user.tokenSha256, "hex") }));
    this.#options = options;
  }

  /** Whether `user` (as a connection authenticated it) still holds: same name, same token. */
  stillValid(user: UserConfig): boolean {
    return this.#users.some((entry) => entry.user.name === user.name && entry.user.tokenSha256 === user.tokenSha256);
  }

  /** Whether `ip` is refused now for too many failed authentications. */
  isBlocked(ip: string): Promise<boolean> {
    return this.#failures.isBlocked(ip, this.#options);
  }

  /** Addresses refused now for too many failed authentications. */
  blockedAddresses(): Promise<number> {
    return this.#failures.blockedAddresses(this.#options);
  }

  /** No users configured: everyone may do everything. */
  get open(): boolean {
    return this.#users.length === 0;
  }

  /** Resolves with the identity, or rejects with AUTH_REQUIRED / AUTH_FAILED (after the delay). */
  async authenticate(token: string | undefined, ip: string): Promise<Identity> {
    if (this.open) return ANYONE;
    const limits = this.#options;
    const verdict = await this.#failures.begin(ip, limits);
    if (!verdict.ok) {
      throw new ServerError(`too many failed authentications from this address; ${whenBlockLifts(verdict.liftsAt)}`, { code: "AUTH_FAILED" });
    }
    if (token === undefined) {
      this.#failures.end(ip, false, Date.now(), limits);
      throw new ServerError("this server requires a token", { code: "AUTH_REQUIRED" });
    }
    const digest = createHash("sha256").update(token, "utf8").digest();
    let found: UserConfig | null = null;
    for (const entry of this.#users) {
      if (timingSafeEqual(digest, entry.digest)) found = entry.user;
    }
    if (found) {
      this.#failures.end(ip, false, Date.now(), limits);
      const permissions = new Set(found.permissions);
      return { user: found, can: (permission) => permissions.has(permission) };
    }
    try {
      await new Promise((resolve) => setTimeout(resolve, limits.failureDelayMs));
    } finally {
      this.#failures.end(ip, true, Date.now(), limits);
    }
    throw new ServerError("authentication failed: the token matches no user", { code: "AUTH_FAILED" });
  }
}

/** When the oldest failure in the window leaves it, the count drops below the limit. */
function whenBlockLifts(liftsAt: number | null): string {
  if (liftsAt === null) return "try again in a few seconds"; // only guesses still waiting out their delay
  const minutes = Math.max(1, Math.ceil((liftsAt - Date.now()) / 60_000));
  return `try again in ${minutes} min (at ${new Date(liftsAt).toISOString().slice(11, 16)} UTC)`;
}

/** The digest `tokenSha256` holds for a token. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** A new random token: 32 bytes from the CSPRNG, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}
