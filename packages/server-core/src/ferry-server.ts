import { FrameWriter } from "@ferry/node-io";
import { X509Certificate } from "node:crypto";
import { EventEmitter } from "node:events";
import { readFile } from "node:fs/promises";
import net, { type AddressInfo, type Socket } from "node:net";
import tls from "node:tls";
import {
  CAPABILITIES,
  checkServerConfig,
  encodeControl,
  formatFingerprint,
  isLoopbackHost,
  type ServerConfig,
  type ServerConfigInput,
} from "@ferry/protocol";
import { Authenticator, type Identity } from "./auth.js";
import type { AuthFailureLedger } from "./auth-failures.js";
import { chooseVictim, type SlotCandidate } from "./eviction.js";
import type { SharedRootState } from "./storage-root.js";
import { Connection, type ConnectionContext, type Space } from "./connection.js";
import { lingerThenClose } from "./failures.js";
import { ServerError } from "./errors.js";
import type { ListeningEvent, ServerEvents } from "./events.js";
import type { Storage } from "./storage.js";
import type { ShareStore } from "./share-store.js";
import { LocalShareStore } from "./local-share-store.js";
import { EXPIRED_LINK_KEPT_MS } from "./share-requests.js";
import type { Permission } from "@ferry/protocol";
import { StorageRoot } from "./storage-root.js";

const SOCKET_HIGH_WATER = 1024 * 1024;

/** Agent string sent in WELCOME. */
export const SERVER_AGENT = "ferry-server/0.1.0";
/** Features this server announces in WELCOME ("share" is added while sharing is on: enableSharing()). */
export const SERVER_CAPABILITIES: string[] = Object.values(CAPABILITIES).filter((capability) => capability !== CAPABILITIES.SHARE);
const SHARING_CAPABILITIES: string[] = [...SERVER_CAPABILITIES, CAPABILITIES.SHARE];

export interface StopOptions {
  /** How long uploads in progress may take to finish before they are cut (ms). Default 10 s. */
  graceMs?: number;
}

/**
 * A Ferry server. Create it from a config, start() it, stop() it; watch it through typed events.
 *
 * @example
 *   const server = new FerryServer({ port: 0, dir: "/srv/ferry" });
 *   server.on("upload-stored", (e) => log(e.name));
 *   const { port } = await server.start();
 */
/** What the server is doing now (for metrics): counts read at the moment they are asked for. */
export interface ServerStats {
  connections: number;
  resumableInProgress: number;
  blockedAddresses: number;
  /** Free bytes of the storage, or null where it has no such figure (an object store). */
  storageFreeBytes: number | null;
  /** Each configured user with a quota: bytes used and the limit. */
  quotas: { user: string; usedBytes: number; limitBytes: number }[];
}

/** What a FerryServer is built on besides its config; each defaults to the local, single-process one. */
export interface ServerOptions {
  /** Opens the storage at start(); default: the local directory config.dir. */
  storage?: (config: ServerConfig) => Promise<Storage>;
  /** Opens the share links when sharing is turned on; default: a file in config.dir. */
  shares?: (config: ServerConfig) => Promise<ShareStore>;
  /** Failed authentications per address; default: this server's own count. */
  authFailures?: AuthFailureLedger;
  /** For the default local storage: the primary's state a worker shares (`ferry-server --workers N`). */
  shared?: SharedRootState;
  /** Admits connections instead of this server's own caps (a worker's primary counts for all workers). */
  gate?: ConnectionGate;
}

/**
 * The connection caps kept outside the server: per-IP and total limits, eviction of held slots
 * (protocol.md §7) and connection numbers, across every worker of `ferry-server --workers N`.
 */
export interface ConnectionGate {
  /** Admits a connection from `ip` with its number, or says why the server is busy (it gets BUSY). */
  admit(ip: string): Promise<{ admitted: true; id: number } | { admitted: false; why: string }>;
  /** The admitted connection `id` ended. */
  release(id: number): void;
}

/** Keys reload() cannot change on a running server (they need a restart). */
const FIXED_KEYS = ["host", "port", "dir", "s3", "db", "maxBufferedBytes", "admin", "http", "publicUrl", "workers"] as const;

export class FerryServer extends EventEmitter<ServerEvents> {
  #config: ServerConfig;
  #server: net.Server | undefined;
  #storage: Storage | undefined;
  /** Opens the storage at start(); the default is the local directory config.dir. */
  readonly #openStorage: (config: ServerConfig) => Promise<Storage>;
  readonly #connections = new Set<Connection>();
  readonly #running = new Set<Promise<void>>();
  readonly #rejected = new Set<Socket>();
  /** Connections told to make room for a new one, still closing: their slots are already given away. */
  readonly #evicted = new Set<Connection>();
  /** Connections being served per remote IP address. */
  readonly #perIp = new Map<string, number>();
  #connectionCount = 0;
  #sweeper: NodeJS.Timeout | undefined;
  #linkSweeper: NodeJS.Timeout | undefined;
  readonly #auth: Authenticator;
  /** Each configured user's folder and quota; anonymous peers get the root, no quota. */
  readonly #spaces = new Map<string, Space>();
  #tls: { context: tls.SecureContext; fingerprint: string } | undefined;
  /** Opens the share links when sharing is turned on; the default is a file in config.dir. */
  readonly #openShares: (config: ServerConfig) => Promise<ShareStore>;
  #sharing: { store: ShareStore; baseUrl: (localAddress: string) => string } | undefined;
  readonly #gate: ConnectionGate | undefined;

  /** Validates `input` against ServerConfigSchema; throws ServerError INVALID_CONFIG. */
  constructor(
    input: ServerConfigInput = {},
    options: ServerOptions = {},
  ) {
    super();
    const checked = checkServerConfig(input);
    if (!checked.ok) throw new ServerError(`invalid server config:\n${checked.message}`, { code: "INVALID_CONFIG" });
    const config = checked.config;
    if (config.users.length === 0 && !config.allowAnonymous && !isLoopbackHost(config.host)) {
      throw new ServerError(
        `refusing to serve ${config.host} without users: anyone on the network could read, write and delete. ` +
          "Configure users, or allow anonymous access explicitly (allowAnonymous, --allow-anonymous)",
        { code: "INVALID_CONFIG" },
      );
    }
    this.#config = config;
    this.#openStorage =
      options.storage ??
      ((c) =>
        StorageRoot.open(c.dir, {
          fsync: c.fsync,
          partialTtlMs: c.partialTtlMs,
          maxPartials: c.maxPartials,
          onFsync: (files, durationMs) => this.emit("fsync", { files, durationMs }),
          ...(options.shared ? { shared: options.shared } : {}),
        }));
    this.#gate = options.gate;
    this.#openShares = options.shares ?? ((c) => LocalShareStore.open(c.dir));
    this.#auth = new Authenticator(config.users, {
      failureDelayMs: config.authFailureDelayMs,
      maxFailures: config.maxAuthFailures,
      blockMs: config.authBlockMs,
    }, options.authFailures);
  }

  /** The configuration in force (reload() replaces it). */
  get config(): ServerConfig {
    return this.#config;
  }

  /** Raw (lab-format) uploads: on for an open plain-TCP server unless configured otherwise. */
  get rawAllowed(): boolean {
    return this.config.raw ?? (this.#auth.open && this.config.tls === undefined);
  }

  /** Opens the storage dir, binds, and resolves with the real address (port 0 → a free port). */
  async start(): Promise<ListeningEvent> {
    if (this.#server) throw new ServerError("server already started", { code: "BAD_STATE" });
    const storage = await this.#openStorage(this.config);
    this.#storage = storage;
    try {
      await this.#openSpaces(storage);
      if (this.config.tls) this.#tls = await loadTls(this.config.tls);
    } catch (error) {
      await storage.close();
      this.#storage = undefined;
      throw error;
    }
    // Partials nobody resumes expire; look hourly (or sooner for short TTLs), without keeping the process alive.
    this.#sweeper = setInterval(() => {
      void storage
        .sweepPartials(this.config.partialTtlMs)
        .then((count) => {
          if (count > 0) this.emit("partials-swept", { count });
        })
        .catch(() => undefined);
    }, Math.min(this.config.partialTtlMs, 3_600_000));
    this.#sweeper.unref();
    this.#linkSweeper = setInterval(() => {
      void this.#sharing?.store.sweep(Date.now() - EXPIRED_LINK_KEPT_MS).catch(() => undefined);
    }, 3_600_000);
    this.#linkSweeper.unref();
    // The default 16 KiB socket high-water mark makes the reader stop and restart the TCP handle
    // every 64 KiB chunk; 1 MiB lets the kernel keep streaming while a frame is processed.
    // allowHalfOpen: a peer's FIN ends only its direction; answers already due still go out (the
    // connection ends its side itself, protocol.md §5).
    const server = net.createServer({ noDelay: true, highWaterMark: SOCKET_HIGH_WATER, allowHalfOpen: true }, (socket) => this.#accept(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (cause: Error): void => {
        this.#server = undefined;
        reject(new ServerError(`cannot listen on ${this.config.host}:${this.config.port}: ${cause.message}`, {
          code: "LISTEN_FAILED",
          cause,
        }));
      };
      server.once("error", onError);
      server.listen({ host: this.config.host, port: this.config.port }, () => {
        server.off("error", onError);
        resolve();
      });
    });
    const address = this.address();
    const info: ListeningEvent = {
      ...address,
      dir: storage.location,
      open: this.#auth.open,
      raw: this.rawAllowed,
      tlsFingerprint: this.#tls?.fingerprint ?? null,
    };
    this.emit("listening", info);
    return info;
  }

  /** Connections that could give their slot up now, by number: what a primary chooses from (protocol.md §7). */
  slotCandidates(): SlotCandidate<number>[] {
    return [...this.#slotCandidates()].map((candidate) => ({ ...candidate, connection: candidate.connection.peer.connection }));
  }

  /** Evicts connection number `id` (a primary chose it); false if it is gone or busy again. */
  evictConnection(id: number): boolean {
    for (const candidate of this.#slotCandidates()) {
      if (candidate.connection.peer.connection !== id) continue;
      this.#evict(candidate);
      return true;
    }
    return false;
  }

  /** The bound address. */
  address(): { host: string; port: number } {
    const address = this.#server?.address() as AddressInfo | null | undefined;
    if (!address) throw new ServerError("server is not listening", { code: "BAD_STATE" });
    return { host: address.address, port: address.port };
  }

  /**
   * Takes a new configuration for new connections and requests without dropping a transfer:
   * users, tokens, permissions, quotas, limits and the TLS certificate. Connections authenticated
   * with a token it no longer holds close once their current transfer ends. A config that does not
   * validate, or that changes what needs a restart (address, storage), is refused with
   * INVALID_CONFIG and the running one stays.
   */
  async reload(input: ServerConfigInput): Promise<void> {
    if (!this.#server || !this.#storage) throw new ServerError("reload() needs a running server", { code: "BAD_STATE" });
    const checked = checkServerConfig(input);
    if (!checked.ok) throw new ServerError(`invalid server config:\n${checked.message}`, { code: "INVALID_CONFIG" });
    const next = checked.config;
    const changed = FIXED_KEYS.filter((key) => JSON.stringify(next[key]) !== JSON.stringify(this.#config[key]));
    if (changed.length > 0) throw new ServerError(`${changed.join(", ")} cannot change on a running server; restart it for that`, { code: "INVALID_CONFIG" });
    // Everything that can fail first; only then is anything replaced.
    const tlsNext = next.tls ? await loadTls(next.tls) : undefined;
    const spaces = new Map<string, Space>();
    for (const user of next.users) {
      const storage = user.dir === undefined ? this.#storage : await this.#storage.folder(user.dir);
      const quota = user.quotaBytes === undefined ? null : await storage.quota(user.quotaBytes);
      spaces.set(user.name, { storage, quota });
    }
    this.#config = next;
    this.#tls = tlsNext;
    this.#auth.replace(next.users, { failureDelayMs: next.authFailureDelayMs, maxFailures: next.maxAuthFailures, blockMs: next.authBlockMs });
    this.#spaces.clear();
    for (const [name, space] of spaces) this.#spaces.set(name, space);
    let retired = 0;
    for (const connection of this.#connections) {
      const user = connection.user;
      if (user && !this.#auth.stillValid(user)) {
        connection.retire(`the token of ${user.name} was withdrawn by the server's configuration`);
        retired++;
      }
    }
    this.emit("reloaded", { users: next.users.length, retired });
  }

  /**
   * Turns share links on (capability "share", docs/sharing.md): opens the link store and answers
   * SHARE with URLs `baseUrl(localAddress)` + "/s/<secret>", where localAddress is the address the
   * asking connection reached. The HTTP side (@ferry/share-web) calls it once its listener is up.
   */
  async enableSharing(baseUrl: (localAddress: string) => string): Promise<ShareStore> {
    if (!this.#server) throw new ServerError("enableSharing() needs a running server", { code: "BAD_STATE" });
    if (this.#sharing) return this.#sharing.store;
    const store = await this.#openShares(this.config);
    this.#sharing = { store, baseUrl };
    return store;
  }

  /** The share links while sharing is on. */
  get shares(): ShareStore | undefined {
    return this.#sharing?.store;
  }

  /**
   * Where a link made by `owner` reaches, if it still may: the owner is still configured and holds
   * `permission` (a link of an anonymous peer works only while the server is open). Links follow
   * the configuration: a withdrawn user or permission ends their links at once.
   */
  spaceForLink(owner: string | null, permission: Permission): Space | undefined {
    if (!this.#storage) return undefined;
    if (owner === null) return this.#auth.open ? { storage: this.#storage, quota: null } : undefined;
    const user = this.config.users.find((candidate) => candidate.name === owner);
    if (!user || !user.permissions.includes(permission)) return undefined;
    return this.#spaces.get(owner);
  }

  /** The data port is listening. */
  get listening(): boolean {
    return this.#server?.listening ?? false;
  }

  /**
   * Whether `token` is a configured user's (for the admin port beyond loopback). Failures count
   * against `ip` and are delayed and blocked like HELLO's.
   */
  async authorizes(token: string | undefined, ip: string): Promise<boolean> {
    try {
      return (await this.#auth.authenticate(token, ip)).user !== null;
    } catch {
      return false;
    }
  }

  /** Counts for metrics, read now. */
  async stats(): Promise<ServerStats> {
    const storage = this.#storage;
    const quotas: ServerStats["quotas"] = [];
    for (const [user, space] of this.#spaces) {
      if (space.quota) quotas.push({ user, usedBytes: await space.quota.usedBytes(), limitBytes: space.quota.limit });
    }
    return {
      connections: this.#connections.size,
      resumableInProgress: storage?.resumableInProgress() ?? 0,
      blockedAddresses: await this.#auth.blockedAddresses(),
      storageFreeBytes: storage ? await storage.freeBytes().catch(() => null) : null,
      quotas,
    };
  }

  /** Resolves if the server listens and its storage takes files now (readiness); rejects with why not. */
  async ready(): Promise<void> {
    if (!this.#server || !this.#storage) throw new ServerError("the server is not listening", { code: "BAD_STATE" });
    await this.#storage.probe();
  }

  /** Connections currently being served (rejected BUSY ones excluded). */
  get activeConnections(): number {
    return this.#connections.size;
  }

  /**
   * Stops accepting, closes idle connections, lets uploads in progress finish for up to
   * `graceMs`, then cuts what is left (their temp files are removed). Resolves when all is closed.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    clearInterval(this.#sweeper);
    clearInterval(this.#linkSweeper);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of this.#connections) connection.shutdown();
    for (const socket of this.#rejected) socket.destroy();
    const grace = setTimeout(() => {
      for (const connection of this.#connections) connection.destroy();
    }, options.graceMs ?? 10_000);
    await Promise.all(this.#running);
    clearTimeout(grace);
    await closed;
    await this.#sharing?.store.close();
    this.#sharing = undefined;
    await this.#storage?.close();
    this.#spaces.clear();
    this.emit("closed");
  }

  /** Opens each user's folder (once per distinct folder) and measures the quotas. */
  async #openSpaces(root: Storage): Promise<void> {
    for (const user of this.config.users) {
      const storage = user.dir === undefined ? root : await root.folder(user.dir);
      const quota = user.quotaBytes === undefined ? null : await storage.quota(user.quotaBytes);
      this.#spaces.set(user.name, { storage, quota });
    }
  }

  #spaceFor(identity: Identity): Space {
    if (identity.user === null) return { storage: this.#storage!, quota: null };
    return this.#spaces.get(identity.user.name)!;
  }

  #accept(plain: Socket): void {
    // TLS runs inside the connection's handshake deadline: the socket is wrapped at once and the
    // TLS handshake happens as the connection first reads. Caps are applied before it, by IP.
    const socket = this.#tls ? new tls.TLSSocket(plain, { isServer: true, secureContext: this.#tls.context }) : plain;
    if (socket !== plain) plain.on("error", () => undefined);
    const remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    const ip = socket.remoteAddress ?? "?";
    if (this.#gate) {
      this.#admitThroughGate(this.#gate, socket, remote, ip);
      return;
    }
    if ((this.#perIp.get(ip) ?? 0) >= this.config.maxClientsPerIp) {
      this.#rejectBusy(socket, remote, `${plural(this.config.maxClientsPerIp, "connection")} from ${ip}`);
      return;
    }
    if (this.#connections.size - this.#evicted.size >= this.config.maxClients && !this.#evictOne()) {
      this.#rejectBusy(socket, remote, `${plural(this.config.maxClients, "client")} connected`);
      return;
    }
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
    this.#serve(socket, remote, ++this.#connectionCount, () => {
      const left = (this.#perIp.get(ip) ?? 1) - 1;
      if (left > 0) this.#perIp.set(ip, left);
      else this.#perIp.delete(ip);
    });
  }

  #admitThroughGate(gate: ConnectionGate, socket: Socket, remote: string, ip: string): void {
    // Until the gate answers, the socket is held (its bytes wait in its buffer); a stop meanwhile closes it.
    this.#rejected.add(socket);
    gate.admit(ip).then(
      (verdict) => {
        this.#rejected.delete(socket);
        if (!verdict.admitted) return this.#rejectBusy(socket, remote, verdict.why);
        if (!this.#server || socket.destroyed) return gate.release(verdict.id);
        this.#serve(socket, remote, verdict.id, () => gate.release(verdict.id));
      },
      () => {
        this.#rejected.delete(socket);
        this.#rejectBusy(socket, remote, "the server is stopping");
      },
    );
  }

  /** Serves an admitted connection as number `id`; `released` gives back what admitting it took, once it ends. */
  #serve(socket: Socket, remote: string, id: number, released: () => void): void {
    const ip = socket.remoteAddress ?? "?";
    const storage = this.#storage!;
    const peer = { connection: id, remote };
    const context: ConnectionContext = {
      config: this.config,
      storage,
      ip,
      rawAllowed: this.rawAllowed,
      auth: this.#auth,
      spaceFor: (identity) => this.#spaceFor(identity),
      agent: SERVER_AGENT,
      capabilities: this.#sharing ? SHARING_CAPABILITIES : SERVER_CAPABILITIES,
      shares: this.#sharing?.store ?? null,
      shareBaseUrl: (localAddress) => this.#sharing!.baseUrl(localAddress),
      // The context's emit has the same typed signature; TS cannot relate the generic spreads.
      emit: (event, ...args) => void (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
    };
    const connection = new Connection(socket, peer, context);
    this.#connections.add(connection);
    this.emit("connection", peer);
    const running = connection.run().finally(() => {
      this.#connections.delete(connection);
      this.#evicted.delete(connection);
      released();
      this.#running.delete(running);
    });
    this.#running.add(running);
  }

  /**
   * The server is full: frees a slot for a new connection if one is only being held (protocol.md
   * §7): the oldest that has not authenticated (open server: not sent a request) for slotGraceMs,
   * else the one idle longest, if idle for slotGraceMs. Silent peers cannot lock working ones out.
   */
  #evictOne(): boolean {
    const victim = chooseVictim(this.#slotCandidates(), this.config.slotGraceMs);
    if (!victim) return false;
    this.#evict(victim);
    return true;
  }

  /** Connections not already evicted that could give their slot up, with how long they have held it. */
  *#slotCandidates(): Generator<SlotCandidate<Connection>> {
    const now = performance.now();
    for (const connection of this.#connections) {
      if (this.#evicted.has(connection)) continue;
      const claim = connection.slotClaim();
      if (claim) yield { connection, unproven: claim.kind === "unproven", idleMs: now - claim.since };
    }
  }

  #evict(victim: SlotCandidate<Connection>): void {
    this.#evicted.add(victim.connection);
    this.emit("connection-evicted", { ...victim.connection.peer, reason: victim.unproven ? "unproven" : "idle", idleMs: Math.round(victim.idleMs) });
    victim.connection.evict();
  }

  #rejectBusy(socket: Socket, remote: string, why: string): void {
    this.#rejected.add(socket);
    socket.once("close", () => this.#rejected.delete(socket));
    refuseBusy(socket, why);
    this.emit("connection-rejected", { remote, code: "BUSY" });
  }
}

/**
 * A client beyond the caps gets a clear BUSY error (a raw peer sees a few bytes), not a hang; the
 * socket closes once the peer has had time to read it.
 */
function refuseBusy(socket: Socket, why: string): void {
  socket.on("error", () => undefined);
  new FrameWriter(socket).write(encodeControl({ type: "error", code: "BUSY", message: `server busy: ${why}, try again later` }));
  void lingerThenClose(socket, socket[Symbol.asyncIterator]());
}

/** "1 client", "64 clients". */
function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** Reads the PEM files and computes the leaf certificate's fingerprint (printed for pinning). */
async function loadTls(files: { cert: string; key: string }): Promise<{ context: tls.SecureContext; fingerprint: string }> {
  try {
    const [cert, key] = await Promise.all([readFile(files.cert), readFile(files.key)]);
    const context = tls.createSecureContext({ cert, key, minVersion: "TLSv1.2" });
    return { context, fingerprint: formatFingerprint(new X509Certificate(cert).fingerprint256) };
  } catch (cause) {
    throw new ServerError(`cannot use the TLS certificate ${files.cert} and key ${files.key}: ${(cause as Error).message}`, {
      code: "INVALID_CONFIG",
      cause,
    });
  }
}
