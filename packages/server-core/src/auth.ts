import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Permission, UserConfig } from "@ferry/protocol";
import { ServerError } from "./errors.js";

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

const MAX_TRACKED_IPS = 100_000;
const ANYONE: Identity = { user: null, can: () => true };

/**
 * Checks HELLO tokens against the configured users. Tokens are compared as SHA-256 digests with
 * timingSafeEqual against every user (no early exit), so the time taken says nothing about which
 * bytes matched. A bad token is answered only after `failureDelayMs`, and an IP that fails
 * `maxFailures` times within `blockMs` is refused without a check until the window passes.
 */
export class Authenticator {
  #users: { user: UserConfig; digest: Buffer }[];
  #options: AuthOptions;
  /** Failure times per IP, oldest first; pruned as they age out of the window. */
  readonly #failures = new Map<string, number[]>();
  /** Bad tokens per IP still waiting out their delay: they count as failures already, so many
   * parallel connections cannot each get a guess in before the first failure is recorded. */
  readonly #pending = new Map<string, number>();

  constructor(users: readonly UserConfig[], options: AuthOptions) {
    this.#users = users.map((user) => ({ user, digest: Buffer.from(user.tokenSha256, "hex") }));
    this.#options = options;
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
  isBlocked(ip: string): boolean {
    return this.#recentFailures(ip) >= this.#options.maxFailures;
  }

  /** Addresses refused now for too many failed authentications. */
  blockedAddresses(): number {
    let blocked = 0;
    for (const ip of [...this.#failures.keys()]) if (this.#recentFailures(ip) >= this.#options.maxFailures) blocked++;
    return blocked;
  }

  /** No users configured: everyone may do everything. */
  get open(): boolean {
    return this.#users.length === 0;
  }

  /** Resolves with the identity, or rejects with AUTH_REQUIRED / AUTH_FAILED (after the delay). */
  async authenticate(token: string | undefined, ip: string): Promise<Identity> {
    if (this.open) return ANYONE;
    if (this.#recentFailures(ip) + (this.#pending.get(ip) ?? 0) >= this.#options.maxFailures) {
      throw new ServerError(`too many failed authentications from this address; ${this.#whenBlockLifts(ip)}`, { code: "AUTH_FAILED" });
    }
    if (token === undefined) {
      throw new ServerError("this server requires a token", { code: "AUTH_REQUIRED" });
    }
    const digest = createHash("sha256").update(token, "utf8").digest();
    let found: UserConfig | null = null;
    for (const entry of this.#users) {
      if (timingSafeEqual(digest, entry.digest)) found = entry.user;
    }
    if (found) {
      const permissions = new Set(found.permissions);
      return { user: found, can: (permission) => permissions.has(permission) };
    }
    this.#pending.set(ip, (this.#pending.get(ip) ?? 0) + 1);
    try {
      await new Promise((resolve) => setTimeout(resolve, this.#options.failureDelayMs));
    } finally {
      const left = (this.#pending.get(ip) ?? 1) - 1;
      if (left > 0) this.#pending.set(ip, left);
      else this.#pending.delete(ip);
      this.#failures.set(ip, [...(this.#failures.get(ip) ?? []), Date.now()].slice(-this.#options.maxFailures));
      // Bounded memory under a spray from many addresses: forget the longest-known ones first.
      if (this.#failures.size > MAX_TRACKED_IPS) this.#failures.delete(this.#failures.keys().next().value!);
    }
    throw new ServerError("authentication failed: the token matches no user", { code: "AUTH_FAILED" });
  }

  /** When the oldest failure in the window leaves it, the count drops below the limit. */
  #whenBlockLifts(ip: string): string {
    const oldest = this.#failures.get(ip)?.[0];
    if (oldest === undefined) return "try again in a few seconds"; // only guesses still waiting out their delay
    const liftsAt = new Date(oldest + this.#options.blockMs);
    const minutes = Math.max(1, Math.ceil((liftsAt.getTime() - Date.now()) / 60_000));
    return `try again in ${minutes} min (at ${liftsAt.toISOString().slice(11, 16)} UTC)`;
  }

  #recentFailures(ip: string): number {
    const since = Date.now() - this.#options.blockMs;
    const recent = (this.#failures.get(ip) ?? []).filter((at) => at > since);
    if (recent.length === 0) this.#failures.delete(ip);
    else this.#failures.set(ip, recent);
    return recent.length;
  }
}

/** The digest `tokenSha256` holds for a token. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** A new random token: 32 bytes from the CSPRNG, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}
