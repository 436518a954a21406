import path from "node:path";
import type { ServerConfig } from "@ferry/protocol";
import {
  AuthFailures,
  chooseVictim,
  ServerError,
  StorageRoot,
  type FailureLimits,
  type QuotaLedger,
  type ShareStore,
  type SlotCandidate,
} from "@ferry/server-core";
import { RpcPeer, type Channel } from "./rpc.js";

export interface PrimaryOptions {
  /**
   * Where share links live when the primary keeps them for every worker (local storage: the JSON
   * file in the storage dir, opened on first use). Absent: each worker opens its own (a cluster's
   * database is shared already).
   */
  shares?: () => Promise<ShareStore>;
}

/** What one worker holds at the primary, given back when it exits. */
interface Holdings {
  peer: RpcPeer;
  /** Resumable uploads it receives: "dir\0key". */
  partials: Set<string>;
  /** Quota reservations it has not settled: what settles each, by ticket. */
  reservations: Map<number, (stored: boolean) => void>;
  /** Authentication tries it has taken and not ended, by address. */
  tries: Map<string, number>;
}

/**
 * The primary of `ferry-server --workers N` (docs/performance.md, "Every core"): it serves no
 * connection itself, but keeps what every worker must see the same way, so each guarantee holds
 * across workers as it does in one process — the connection caps and eviction, auth-failure
 * blocking, resumable-upload locks and interrupted uploads, quota ledgers, and (local storage)
 * share links. Workers reach it through a Channel (node:cluster's IPC); see worker.ts.
 * Naming needs nothing here: link(2) and rename(2) decide it in the kernel.
 */
export class WorkerPrimary {
  #config: ServerConfig;
  /** The local storage (null for a cluster's, whose database keeps these across servers already). */
  readonly #root: StorageRoot | null;
  readonly #options: PrimaryOptions;
  readonly #workers = new Map<number, Holdings>();
  readonly #failures = new AuthFailures();
  /** Wrong share-link passwords per address and link (share-web), apart from the data port's failures. */
  readonly #unlockFailures = new AuthFailures();
  // Connection caps, as FerryServer keeps them in one process.
  readonly #connections = new Map<number, { worker: number; ip: string }>();
  readonly #perIp = new Map<string, number>();
  readonly #evicted = new Set<number>();
  #connectionCount = 0;
  /** Admissions run one at a time: two cannot take the last slot, or evict the same connection. */
  #admitting: Promise<unknown> = Promise.resolve();
  readonly #quotas = new Map<string, Promise<QuotaLedger>>();
  #reservationCount = 0;
  #shares: Promise<ShareStore> | undefined;

  private constructor(config: ServerConfig, root: StorageRoot | null, options: PrimaryOptions) {
    this.#config = config;
    this.#root = root;
    this.#options = options;
  }

  /**
   * Opens the local storage as a one-process server would (temp files a crash left are removed,
   * the index log compacted, interrupted uploads counted) and each user's folder, before any
   * worker starts: workers skip all of that (their siblings' files are in flight).
   */
  static async open(config: ServerConfig, options: PrimaryOptions = {}): Promise<WorkerPrimary> {
    const cluster = config.s3 !== undefined && config.db !== undefined;
    const root = cluster ? null : await StorageRoot.open(config.dir, { fsync: config.fsync, partialTtlMs: config.partialTtlMs, maxPartials: config.maxPartials });
    if (root) for (const user of config.users) if (user.dir !== undefined) await root.folder(user.dir);
    return new WorkerPrimary(config, root, options);
  }

  /** The configuration the caps follow (a reload replaces it once every worker took it). */
  get config(): ServerConfig {
    return this.#config;
  }

  /** A reload: quotas are measured again from the files on first use, as one process does on reload(). */
  set config(next: ServerConfig) {
    this.#config = next;
    this.#quotas.clear();
  }

  /** Connections being served now, over all workers. */
  get connections(): number {
    return this.#connections.size;
  }

  /** Throws unless the storage takes files now (readiness); a cluster's workers answer for theirs. */
  async probe(): Promise<void> {
    await this.#root?.probe();
  }

  /** Serves worker `id`'s calls arriving on `channel`; returns the peer to call it back. */
  attach(id: number, channel: Channel): RpcPeer {
    const peer = new RpcPeer(channel);
    const held: Holdings = { peer, partials: new Set(), reservations: new Map(), tries: new Map() };
    this.#workers.set(id, held);
    peer
      .handle("gate.admit", (ip: string) => this.#admit(id, ip))
      .handle("gate.release", (connection: number) => this.#release(connection))
      .handle("auth.begin", async (ip: string, limits: FailureLimits) => {
        const verdict = await this.#failures.begin(ip, limits);
        if (verdict.ok) held.tries.set(ip, (held.tries.get(ip) ?? 0) + 1);
        return verdict;
      })
      .handle("auth.end", (ip: string, failed: boolean, at: number, limits: FailureLimits) => {
        const left = (held.tries.get(ip) ?? 1) - 1;
        if (left > 0) held.tries.set(ip, left);
        else held.tries.delete(ip);
        this.#failures.end(ip, failed, at, limits);
      })
      .handle("auth.isBlocked", (ip: string, limits: FailureLimits) => this.#failures.isBlocked(ip, limits))
      .handle("auth.blocked", (limits: FailureLimits) => this.#failures.blockedAddresses(limits))
      .handle("unlock.end", (key: string, failed: boolean, at: number, limits: FailureLimits) => this.#unlockFailures.end(key, failed, at, limits))
      .handle("unlock.isBlocked", (key: string, limits: FailureLimits) => this.#unlockFailures.isBlocked(key, limits))
      .handle("partials.claim", async (dir: string, key: string) => {
        const table = (await this.#folder(dir)).partials;
        await table.claim(key);
        held.partials.add(`${dir}\0${key}`);
      })
      .handle("partials.unclaim", async (dir: string, key: string) => {
        held.partials.delete(`${dir}\0${key}`);
        (await this.#folder(dir)).partials.unclaim(key);
      })
      .handle("partials.suspended", async (dir: string, key: string, bytes: number) => (await this.#folder(dir)).partials.suspended(key, bytes))
      // Workers' sweepers ask (each on its own clock); the table knows what every worker receives.
      .handle("partials.sweep", async (dir: string, ttlMs: number) => (await this.#folder(dir)).partials.sweep(ttlMs))
      .handle("partials.closed", async (dir: string, key: string) => {
        held.partials.delete(`${dir}\0${key}`);
        (await this.#folder(dir)).partials.closed(key);
      })
      .handle("quota.reserve", async (dir: string, limit: number, size: number, resuming?: string) => {
        const settle = await (await this.#quota(dir, limit)).reserve(size, resuming);
        const ticket = ++this.#reservationCount;
        held.reservations.set(ticket, settle);
        return ticket;
      })
      .handle("quota.settle", (ticket: number, stored: boolean) => {
        held.reservations.get(ticket)?.(stored);
        held.reservations.delete(ticket);
      })
      .handle("quota.released", async (dir: string, limit: number, size: number) => (await this.#quota(dir, limit)).released(size))
      .handle("quota.used", async (dir: string, limit: number) => (await this.#quota(dir, limit)).usedBytes());
    const shares = this.#options.shares;
    if (shares) {
      const store = (): Promise<ShareStore> => (this.#shares ??= shares());
      peer
        .handle("shares.create", async (record: Parameters<ShareStore["create"]>[0]) => (await store()).create(record))
        .handle("shares.get", async (key: string) => (await store()).get(key))
        .handle("shares.list", async (owner: string | null) => (await store()).list(owner))
        .handle("shares.remove", async (owner: string | null, keyOrFingerprint: string) => (await store()).remove(owner, keyOrFingerprint))
        .handle("shares.countDownload", async (key: string, now: number) => (await store()).countDownload(key, now))
        .handle("shares.countUpload", async (key: string, bytes: number, now: number) => (await store()).countUpload(key, bytes, now))
        .handle("shares.sweep", async (before: number) => (await store()).sweep(before));
    }
    return peer;
  }

  /**
   * Worker `id` is gone (exited or crashed): what it held is given back, so its connections free
   * their slots, its uploads can be resumed elsewhere and its tries do not count as failures.
   */
  async detach(id: number): Promise<void> {
    const held = this.#workers.get(id);
    if (!held) return;
    this.#workers.delete(id);
    held.peer.close(new ServerError(`worker ${id} is gone`, { code: "INTERNAL" }));
    for (const [connection, owner] of this.#connections) if (owner.worker === id) this.#release(connection);
    for (const [ip, count] of held.tries) for (let i = 0; i < count; i++) this.#failures.end(ip, false, Date.now(), this.#limits());
    for (const settle of held.reservations.values()) settle(false);
    const folders = new Set<string>();
    for (const entry of held.partials) {
      const [dir, key] = entry.split("\0") as [string, string];
      (await this.#folder(dir)).partials.closed(key);
      folders.add(dir);
    }
    // What the dead worker was receiving is on disk now, waiting to be resumed: counted again.
    for (const dir of folders) await (await this.#folder(dir)).partials.sweep(this.#config.partialTtlMs).catch(() => 0);
  }

  async close(): Promise<void> {
    for (const id of [...this.#workers.keys()]) await this.detach(id);
    if (this.#shares) await (await this.#shares).close();
    await this.#root?.close();
  }

  #limits(): FailureLimits {
    return { maxFailures: this.#config.maxAuthFailures, blockMs: this.#config.authBlockMs };
  }

  #admit(worker: number, ip: string): Promise<{ admitted: true; id: number } | { admitted: false; why: string }> {
    const admitted = this.#admitting.then(async () => {
      const config = this.#config;
      if ((this.#perIp.get(ip) ?? 0) >= config.maxClientsPerIp) return { admitted: false as const, why: `${plural(config.maxClientsPerIp, "connection")} from ${ip}` };
      if (this.#connections.size - this.#evicted.size >= config.maxClients && !(await this.#evictOne())) {
        return { admitted: false as const, why: `${plural(config.maxClients, "client")} connected` };
      }
      const id = ++this.#connectionCount;
      this.#connections.set(id, { worker, ip });
      this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
      return { admitted: true as const, id };
    });
    this.#admitting = admitted.catch(() => undefined);
    return admitted;
  }

  #release(connection: number): void {
    const owner = this.#connections.get(connection);
    if (!owner) return;
    this.#connections.delete(connection);
    this.#evicted.delete(connection);
    const left = (this.#perIp.get(owner.ip) ?? 1) - 1;
    if (left > 0) this.#perIp.set(owner.ip, left);
    else this.#perIp.delete(owner.ip);
  }

  /** The server is full: the same choice as one process's (protocol.md §7), among every worker's connections. */
  async #evictOne(): Promise<boolean> {
    const candidates: SlotCandidate<{ worker: number; id: number }>[] = [];
    await Promise.all(
      [...this.#workers].map(async ([worker, held]) => {
        const theirs = await held.peer.call<SlotCandidate<number>[]>("candidates").catch(() => []);
        for (const candidate of theirs) if (!this.#evicted.has(candidate.connection)) candidates.push({ ...candidate, connection: { worker, id: candidate.connection } });
      }),
    );
    const victim = chooseVictim(candidates, this.#config.slotGraceMs);
    if (!victim) return false;
    const evicted = await this.#workers.get(victim.connection.worker)?.peer.call<boolean>("evict", victim.connection.id).catch(() => false);
    if (evicted) this.#evicted.add(victim.connection.id);
    return evicted === true;
  }

  /** The primary's storage root for folder `dir` (the root itself or a user's folder inside it). */
  async #folder(dir: string): Promise<StorageRoot> {
    const root = this.#root;
    if (!root) throw new ServerError("this primary keeps no local storage", { code: "BAD_STATE" });
    if (dir === root.dir) return root;
    const inside = path.relative(root.dir, dir);
    if (inside.startsWith("..") || path.isAbsolute(inside)) throw new ServerError(`${dir} is outside the storage dir`, { code: "BAD_STATE" });
    return root.folder(inside);
  }

  /** One ledger per folder and limit, measured on first use, shared by every worker. */
  #quota(dir: string, limit: number): Promise<QuotaLedger> {
    const key = `${dir}\0${limit}`;
    let ledger = this.#quotas.get(key);
    if (!ledger) {
      ledger = this.#folder(dir).then((folder) => folder.quota(limit));
      ledger.catch(() => this.#quotas.delete(key));
      this.#quotas.set(key, ledger);
    }
    return ledger;
  }
}

/** "1 client", "64 clients". */
function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
