import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import type { ServerConfig } from "@ferry/protocol";
import { FerryServer, LocalShareStore, ServerError, type ListeningEvent, type ServerErrorCode } from "@ferry/server-core";
import { RpcPeer, serveWorker, WorkerPrimary, workerPasswordFailures, workerServerOptions, type Channel } from "@ferry/server-workers";
import { loadServerConfig, type ServerFlags } from "./config.js";
import { attachEventLog, listeningText, reloadedText } from "./event-log.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import type { ServerLog } from "./logger.js";
import { openCluster, openClusterShares } from "./cluster.js";
import { startShareListener } from "./share-listener.js";
import { adminAddress, startAdminPort } from "./admin.js";
import { warnAtStart } from "./start-warnings.js";

/** Processes serving connections: --workers / FERRY_WORKERS / config `workers`, else one per core. */
export function workerCount(config: ServerConfig): number {
  return config.workers ?? availableParallelism();
}

/** A worker that keeps dying is a broken deployment, not bad luck: past this many exits a minute, the server stops. */
const MAX_RESTARTS_PER_MINUTE = 5;

interface Ready {
  info: ListeningEvent;
  web: string | null;
}

/**
 * The primary of `ferry-server --workers N` (docs/operations.md): forks the workers, which share
 * the data port (and --http) through node:cluster, keeps what they share (@ferry/server-workers),
 * says once that the server listens, serves --admin with every worker's metrics, passes SIGHUP on
 * to each, replaces a worker that dies, and on SIGINT/SIGTERM lets each finish its uploads.
 */
export async function runPrimary(flags: ServerFlags, config: ServerConfig, count: number, log: ServerLog, graceMs: number): Promise<void> {
  const { logger } = log;
  const say = (event: string, text: string, fields: object): void => (log.eventLine ? log.eventLine(text) : logger.info({ event, ...fields }, text));
  if (config.admin) adminAddress(config); // a refused admin address stops the start, before anything listens
  const local = !(config.s3 && config.db);
  const primary = await WorkerPrimary.open(config, local ? { shares: () => LocalShareStore.open(config.dir) } : {});
  const peers = new Map<number, RpcPeer>();
  let stopping = false;
  const exits: number[] = [];

  const fork = (): Promise<Ready> => {
    const worker: Worker = cluster.fork();
    worker.on("error", () => undefined); // a message to a worker that is exiting: its exit is handled below
    const channel: Channel = { send: (message) => void worker.send(message), onMessage: (listener) => void worker.on("message", listener) };
    const peer = primary.attach(worker.id, channel);
    peers.set(worker.id, peer);
    // The configuration in force, reloads included: a worker started later serves what its siblings serve.
    peer.handle("config", () => primary.config);
    return new Promise<Ready>((resolve, reject) => {
      peer.handle("worker.ready", (ready: Ready) => resolve(ready));
      peer.handle("worker.failed", (failure: { code: ServerErrorCode; message: string }) => reject(new ServerError(failure.message, { code: failure.code })));
      worker.once("exit", (code, signal) => reject(new ServerError(`worker ${worker.id} exited (${signal ?? `code ${code}`}) before it served`, { code: "INTERNAL" })));
    });
  };
  const anyPeer = (): RpcPeer => {
    const peer = peers.values().next().value;
    if (!peer) throw new ServerError("no worker is running", { code: "BAD_STATE" });
    return peer;
  };

  cluster.on("exit", (worker, code, signal) => {
    peers.delete(worker.id);
    void primary.detach(worker.id);
    if (stopping) return;
    const now = Date.now();
    exits.push(now);
    while (exits[0]! < now - 60_000) exits.shift();
    if (exits.length > MAX_RESTARTS_PER_MINUTE) {
      logger.fatal({ event: "workers-failing", exitCode: EXIT.FAILURE }, `${exits.length} workers exited within a minute; stopping`);
      stopAll(EXIT.FAILURE, {});
      return;
    }
    logger.warn({ event: "worker-exited", worker: worker.id, code, signal }, `worker ${worker.id} exited (${signal ?? `code ${code}`}); starting another`);
    fork().catch((error: unknown) => logger.error({ event: "worker-failed", code: (error as { code?: string }).code ?? "INTERNAL" }, `a replacement worker did not start: ${(error as Error).message}`));
  });

  let ready: Ready[];
  try {
    ready = await Promise.all(Array.from({ length: count }, fork));
  } catch (error) {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGKILL");
    await primary.close();
    throw error;
  }
  const { info, web } = ready[0]!;
  say("listening", listeningText(info, config, count), { ...info, workers: count });
  const admin = config.admin
    ? await startAdminPort(
        {
          get listening() {
            return !stopping && peers.size > 0;
          },
          ready: () => anyPeer().call("ready"),
          authorizes: (token: string | undefined, ip: string) => anyPeer().call<boolean>("authorizes", token, ip),
        },
        (await import("@ferry/server-admin")).workersMetrics(),
        config,
      )
    : undefined;
  if (admin) logger.info({ event: "admin-listening", host: admin.host, port: admin.port }, `admin on ${admin.url} (/metrics, /healthz, /readyz)`);
  if (web) logger.info({ event: "http-listening", url: web }, `share links on ${web} (ferry share)`);
  warnAtStart(logger, info, config);

  /** Tells each worker to stop (finishing uploads for graceMs), and exits once they all have. */
  function stopAll(exitCode: number, fields: { signal?: NodeJS.Signals }): void {
    stopping = true;
    void admin?.close();
    const workers = Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined);
    const gone = workers.map((worker) => new Promise((resolve) => (worker.isDead() ? resolve(undefined) : worker.once("exit", resolve))));
    for (const peer of peers.values()) peer.note("stop", graceMs);
    void Promise.all(gone)
      .then(() => primary.close())
      .then(() => {
        if (exitCode === EXIT.OK) logger.info(fields, "stopped");
        log.flush();
        process.exit(exitCode);
      });
  }

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, `${signal} again: exiting now`);
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGKILL");
      log.flush();
      process.exit(EXIT.FAILURE);
    }
    const again = signal === "SIGINT" ? "Ctrl+C again" : "SIGTERM again";
    logger.info({ signal }, `${signal}: stopping — finishing uploads in progress (${again} to stop at once)`);
    stopAll(EXIT.OK, { signal });
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // SIGHUP: read the config file (and env, flags) again and hand it to every worker; an invalid one changes nothing.
  process.on("SIGHUP", () => {
    void loadServerConfig(flags)
      .then(async ({ config: next }) => {
        const taken = await Promise.all([...peers.values()].map((peer) => peer.call<{ users: number; retired: number }>("reload", next)));
        primary.config = next;
        const event = { users: next.users.length, retired: taken.reduce((sum, e) => sum + e.retired, 0) };
        say("reloaded", reloadedText(event), event);
      })
      .catch((error: unknown) => {
        logger.error({ event: "reload-refused", code: (error as { code?: string }).code ?? "INTERNAL" }, `SIGHUP: reload refused, the running configuration stays: ${(error as Error).message}`);
      });
  });
}

/**
 * A worker: a FerryServer on the shared data port whose caps, locks, quotas and links are the
 * primary's. Signals are the primary's to act on; a worker whose primary is gone exits.
 */
export async function runWorker(log: ServerLog): Promise<void> {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => undefined);
  process.on("disconnect", () => {
    log.flush();
    process.exit(EXIT.FAILURE);
  });
  const peer = new RpcPeer({ send: (message) => void process.send!(message), onMessage: (listener) => void process.on("message", listener) });
  try {
    const config = await peer.call<ServerConfig>("config");
    const clusterStorage = config.s3 !== undefined && config.db !== undefined;
    const server = new FerryServer(config, {
      ...workerServerOptions(peer, config, { sharesAtPrimary: !clusterStorage }),
      ...(clusterStorage ? { storage: openCluster, shares: openClusterShares } : {}),
    });
    attachEventLog(server, log, { worker: true });
    if (config.admin) {
      const { ServerMetrics, shareMetricsWithPrimary } = await import("@ferry/server-admin");
      shareMetricsWithPrimary(new ServerMetrics(server));
    }
    const info = await server.start();
    const web = config.http ? await startShareListener(server, config, workerPasswordFailures(peer)) : undefined;
    serveWorker(peer, server);
    peer
      .handle("ready", () => server.ready())
      .handle("authorizes", (token: string | undefined, ip: string) => server.authorizes(token, ip))
      .handle("reload", async (next: ServerConfig) => {
        let taken = { users: next.users.length, retired: 0 };
        const listener = (event: typeof taken): void => void (taken = event);
        server.once("reloaded", listener);
        try {
          await server.reload(next);
          await web?.reloadCertificate();
        } finally {
          server.off("reloaded", listener);
        }
        return taken;
      })
      .handle("stop", async (graceMs: number) => {
        await web?.close();
        await server.stop({ graceMs });
        log.flush();
        process.exit(EXIT.OK);
      });
    peer.note("worker.ready", { info, web: web?.url ?? null } satisfies Ready);
  } catch (error) {
    const code = error instanceof ServerError || (error as { code?: unknown }).code === "INVALID_CONFIG" ? (error as ServerError).code : "INTERNAL";
    peer.note("worker.failed", { code, message: (error as Error).message });
    // The primary reports it and stops; this one leaves once the note is out.
    setTimeout(() => process.exit(exitCodeFor(error)), 1_000).unref();
  }
}
