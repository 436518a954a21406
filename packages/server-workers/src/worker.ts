import type { ServerConfig } from "@ferry/protocol";
import type {
  AuthFailureLedger,
  ConnectionGate,
  FailureLimits,
  FerryServer,
  PartialLedger,
  QuotaLedger,
  ServerOptions,
  ShareRecord,
  ShareStore,
  SharedRootState,
  SlotCandidate,
  TryVerdict,
} from "@ferry/server-core";
import type { RpcPeer } from "./rpc.js";

/**
 * A worker's FerryServer options: each shared guarantee asks the primary (primary.ts) instead of
 * keeping a count of its own. `sharesAtPrimary`: the primary keeps the share links (local storage).
 */
export function workerServerOptions(peer: RpcPeer, config: ServerConfig, options: { sharesAtPrimary: boolean }): ServerOptions {
  const cluster = config.s3 !== undefined && config.db !== undefined;
  const gate: ConnectionGate = {
    admit: (ip) => peer.call("gate.admit", ip),
    release: (id) => peer.note("gate.release", id),
  };
  const authFailures: AuthFailureLedger = {
    begin: (ip, limits) => peer.call<TryVerdict>("auth.begin", ip, limits),
    end: (ip, failed, at, limits) => peer.note("auth.end", ip, failed, at, limits),
    isBlocked: (ip, limits: FailureLimits) => peer.call<boolean>("auth.isBlocked", ip, limits),
    blockedAddresses: (limits) => peer.call<number>("auth.blocked", limits),
  };
  const shared: SharedRootState = {
    partials: (dir) => new RemotePartials(peer, dir),
    quota: async (dir, limit) => new RemoteQuota(peer, dir, limit),
  };
  return {
    gate,
    authFailures,
    ...(cluster ? {} : { shared }),
    ...(options.sharesAtPrimary ? { shares: async () => new RemoteShares(peer) } : {}),
  };
}

/**
 * The share listener's count of wrong link passwords (share-web's `passwordFailures`), kept by the
 * primary so that guesses spread over workers count together. Only failures are recorded there.
 */
export function workerPasswordFailures(peer: RpcPeer): Pick<AuthFailureLedger, "isBlocked" | "end"> {
  return {
    end: (key, failed, at, limits) => peer.note("unlock.end", key, failed, at, limits),
    isBlocked: (key, limits) => peer.call<boolean>("unlock.isBlocked", key, limits),
  };
}

/**
 * Answers the primary's calls on a worker: which connections could give their slot up (the primary
 * chooses among all workers' when the server is full), and evicting the one it chose.
 */
export function serveWorker(peer: RpcPeer, server: FerryServer): void {
  peer.handle("candidates", (): SlotCandidate<number>[] => server.slotCandidates()).handle("evict", (id: number) => server.evictConnection(id));
}

/** A folder's resumable-upload table, kept by the primary; this worker counts only its own. */
class RemotePartials implements PartialLedger {
  readonly #peer: RpcPeer;
  readonly #dir: string;
  readonly #mine = new Set<string>();

  constructor(peer: RpcPeer, dir: string) {
    this.#peer = peer;
    this.#dir = dir;
  }

  async claim(key: string): Promise<void> {
    await this.#peer.call("partials.claim", this.#dir, key);
    this.#mine.add(key);
  }

  unclaim(key: string): void {
    this.#mine.delete(key);
    this.#peer.note("partials.unclaim", this.#dir, key);
  }

  suspended(key: string, bytes: number): void {
    this.#peer.note("partials.suspended", this.#dir, key, bytes);
  }

  closed(key: string): void {
    this.#mine.delete(key);
    this.#peer.note("partials.closed", this.#dir, key);
  }

  /** This worker's (metrics add the workers up). */
  activeCount(): number {
    return this.#mine.size;
  }

  /** Swept by the primary, which knows what every worker receives. */
  sweep(ttlMs: number): Promise<number> {
    return this.#peer.call<number>("partials.sweep", this.#dir, ttlMs);
  }
}

/** A quota ledger kept by the primary for every worker. */
class RemoteQuota implements QuotaLedger {
  readonly limit: number;
  readonly #peer: RpcPeer;
  readonly #dir: string;

  constructor(peer: RpcPeer, dir: string, limit: number) {
    this.#peer = peer;
    this.#dir = dir;
    this.limit = limit;
  }

  async reserve(size: number, resuming?: string): Promise<(stored: boolean) => void> {
    const ticket = await this.#peer.call<number>("quota.reserve", this.#dir, this.limit, size, resuming);
    let settled = false;
    return (stored) => {
      if (settled) return;
      settled = true;
      this.#peer.note("quota.settle", ticket, stored);
    };
  }

  released(size: number): void {
    this.#peer.note("quota.released", this.#dir, this.limit, size);
  }

  usedBytes(): Promise<number> {
    return this.#peer.call<number>("quota.used", this.#dir, this.limit);
  }
}

/** The share links, kept by the primary (one JSON file, one writer) for every worker. */
class RemoteShares implements ShareStore {
  readonly #peer: RpcPeer;

  constructor(peer: RpcPeer) {
    this.#peer = peer;
  }

  async create(record: ShareRecord): Promise<void> {
    await this.#peer.call("shares.create", record);
  }

  async get(key: string): Promise<ShareRecord | undefined> {
    return (await this.#peer.call<ShareRecord | null | undefined>("shares.get", key)) ?? undefined;
  }

  list(owner: string | null): Promise<ShareRecord[]> {
    return this.#peer.call("shares.list", owner);
  }

  async remove(owner: string | null, keyOrFingerprint: string): Promise<ShareRecord | undefined> {
    return (await this.#peer.call<ShareRecord | null | undefined>("shares.remove", owner, keyOrFingerprint)) ?? undefined;
  }

  countDownload(key: string, now: number): Promise<boolean> {
    return this.#peer.call("shares.countDownload", key, now);
  }

  countUpload(key: string, bytes: number, now: number): Promise<boolean> {
    return this.#peer.call("shares.countUpload", key, bytes, now);
  }

  sweep(before: number): Promise<number> {
    return this.#peer.call("shares.sweep", before);
  }

  /** The primary closes the store when it stops. */
  async close(): Promise<void> {}
}
