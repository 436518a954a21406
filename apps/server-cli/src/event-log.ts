import type { Logger } from "pino";
import type { ServerLog } from "./logger.js";
import type { FileDigest, ServerConfig } from "@ferry/protocol";
import type { FerryServer, ListeningEvent, ServerEvents } from "@ferry/server-core";

type ReloadedEvent = ServerEvents["reloaded"][0];
import { digestByAlgorithm, formatBytes, formatDigest, formatDuration, formatRate, printable } from "@ferry/cli-text";

// Events that mean something went wrong for a client; the rest are the normal course of things.
const WARN: ReadonlySet<keyof ServerEvents> = new Set(["connection-rejected", "connection-evicted", "upload-failed", "request-failed", "connection-error", "auth-failed"]);

/**
 * One log record per server event: the lab's sentences kept as the message ("Connected with client
 * 1", "Received successfully from client 1! New filename is: …") and extended with address, bytes,
 * time and throughput; the event's fields ride along (`event`, and `conn` from the connection's
 * child logger). Levels: info, warn for a client's failures, error for a server bug.
 */
export function attachEventLog(server: FerryServer, { logger, eventLine }: ServerLog, options: { worker?: boolean } = {}): void {
  const connections = new Map<number, Logger>();
  // `fields` may be a function: fields built only for JSON records (text mode never pays for them).
  const emit = (event: keyof ServerEvents, text: string, fields: (object & { connection?: number }) | (() => object & { connection?: number })): void => {
    // Text mode: the sentence is the whole line (see ServerLog.eventLine).
    if (eventLine) return eventLine(text);
    const data = typeof fields === "function" ? fields() : fields;
    const level = event === "internal-error" ? "error" : WARN.has(event) ? "warn" : "info";
    const { connection, ...rest } = data as { connection?: number; remote?: string };
    const child = connection === undefined ? undefined : connections.get(connection);
    const log = child ?? logger;
    // A connection's child logger already carries conn and remote: no key twice in a line.
    if (child) delete rest.remote;
    log[level]({ event, ...(connection !== undefined && !child ? { conn: connection } : {}), ...rest }, text);
  };
  // A worker's listening and reloads are told once, by its primary (workers.ts).
  if (!options.worker) server.on("listening", (e) => emit("listening", listeningText(e, server.config), e));
  server.on("connection", (e) => {
    connections.set(e.connection, logger.child({ conn: e.connection, remote: e.remote }));
    emit("connection", `Connected with client ${e.connection} (${e.remote})`, e);
  });
  server.on("connection-rejected", (e) => emit("connection-rejected", `Refused ${e.remote}: server busy (${e.code})`, e));
  server.on("connection-evicted", (e) =>
    emit("connection-evicted", `Closed client ${e.connection} (${e.remote}) to make room: server full, it was ${e.reason === "idle" ? "idle" : "not yet authenticated"} for ${formatDuration(e.idleMs)}`, e),
  );
  server.on("upload-started", (e) => {
    const what = e.raw ? "raw stream" : `${printable(e.name ?? "")} (${formatBytes(e.size ?? 0)})`;
    emit("upload-started", `Receiving file from client ${e.connection}: ${what}`, e);
  });
  server.on("upload-stored", (e) => {
    if (e.outcome === "skipped") {
      emit("upload-stored", `Skipped upload from client ${e.connection}: ${printable(e.name)} already exists`, e);
      return;
    }
    const replaced = e.outcome === "overwritten" ? " (replaced the old file)" : "";
    emit(
      "upload-stored",
      `Received successfully from client ${e.connection}! New filename is: ${printable(e.name)}${replaced} — ${formatBytes(e.size)} in ${formatDuration(e.durationMs)}, ${formatRate(e.size, e.durationMs)}, ${formatDigest(e.digest)}`,
      () => withDigestKey(e),
    );
  });
  server.on("download-sent", (e) => {
    emit(
      "download-sent",
      `Sent ${printable(e.name)} to client ${e.connection} — ${formatBytes(e.size)} in ${formatDuration(e.durationMs)}, ${formatRate(e.size, e.durationMs)}, ${formatDigest(e.digest)}`,
      () => withDigestKey(e),
    );
  });
  server.on("deleted", (e) => emit("deleted", `Client ${e.connection} deleted ${printable(e.name)}`, e));
  server.on("authenticated", (e) => emit("authenticated", `Client ${e.connection} authenticated as ${e.user}`, e));
  server.on("auth-failed", (e) =>
    emit("auth-failed", `Client ${e.connection} (${e.remote}) refused: ${e.code === "AUTH_REQUIRED" ? "no token" : "wrong token"}${e.blocked ? "; the address is now blocked for too many failures" : ""}`, e),
  );
  server.on("listed", (e) => emit("listed", `Client ${e.connection} listed ${e.path === null ? "everything" : printable(e.path)}: ${e.entries} entr${e.entries === 1 ? "y" : "ies"}`, e));
  server.on("partials-swept", (e) => emit("partials-swept", `Deleted ${e.count} interrupted upload${e.count === 1 ? "" : "s"} nobody resumed`, e));
  if (!options.worker) server.on("reloaded", (e) => emit("reloaded", reloadedText(e), e)
  );
  server.on("request-failed", (e) => {
    const what = e.name === null ? e.request : `${e.request} ${printable(e.name)}`;
    emit("request-failed", `Client ${e.connection}: ${what} failed: ${e.code} — ${printable(e.message)}`, e);
  });
  server.on("upload-failed", (e) => {
    emit("upload-failed", `Upload from client ${e.connection} failed${e.name === null ? "" : ` (${printable(e.name)})`}: ${e.code} — ${printable(e.message)}`, e);
  });
  server.on("connection-error", (e) => emit("connection-error", `Client ${e.connection} dropped: ${e.code} — ${e.message}`, e));
  server.on("internal-error", (e) =>
    emit("internal-error", `Internal error serving ${e.connection === 0 ? `an HTTP request from ${e.remote}` : `client ${e.connection}`} (a bug: please report it): ${e.message}\n${e.stack}`, e),
  );
  server.on("share-created", (e) => emit("share-created", `Client ${e.connection} made ${e.kind === "upload" ? "an" : "a"} ${e.kind} link ${e.fingerprint} for ${e.paths.map((p) => printable(p || "/")).join(", ")}, expiring ${new Date(e.expiresAt).toISOString()}`, e));
  server.on("share-revoked", (e) => emit("share-revoked", `Client ${e.connection} revoked link ${e.fingerprint}`, e));
  server.on("share-downloaded", (e) =>
    emit("share-downloaded", `Link ${e.fingerprint}: ${e.zip ? `zip of ${printable(e.name || "/")}` : printable(e.name)} to ${e.remote} — ${formatBytes(e.bytes)}${e.from > 0 ? ` from byte ${e.from}` : ""}${e.complete ? "" : " (stopped early)"}`, e),
  );
  server.on("share-uploaded", (e) =>
    emit("share-uploaded", `Link ${e.fingerprint}: received ${printable(e.name)} from ${e.remote} — ${formatBytes(e.size)}${e.resumedFrom > 0 ? ` (resumed at ${formatBytes(e.resumedFrom)})` : ""}, sha256 ${e.sha256}`, e),
  );
  server.on("connection-closed", (e) => {
    emit("connection-closed", `Client ${e.connection} disconnected (${e.stored} stored, ${e.failed} failed)`, e);
    connections.delete(e.connection);
  });
}

/** An event's digest as the JSON log shows it: under its algorithm's key ("sha256": …, or "blake3": …). */
function withDigestKey<E extends { digest: FileDigest }>(e: E): Omit<E, "digest"> & Partial<Record<FileDigest["algorithm"], string>> {
  const { digest, ...rest } = e;
  return { ...rest, ...digestByAlgorithm(digest) };
}

/** The line a server starts with; `workers`: how many processes serve (ferry-server --workers N). */
export function listeningText(e: ListeningEvent, c: ServerConfig, workers = 1): string {
  const processes = workers > 1 ? `, ${workers} workers` : "";
  return `listening on ${e.host}:${e.port} — storing in ${e.dir} (max ${c.maxClients} clients${processes}, raw uploads ${e.raw ? "on" : "off"}, ${e.open ? "OPEN (no users)" : `${c.users.length} user${c.users.length === 1 ? "" : "s"}`}${e.tlsFingerprint ? `, TLS ${e.tlsFingerprint}` : ""}${c.fsync ? "" : ", fsync OFF"})`;
}

export function reloadedText(e: ReloadedEvent): string {
  return `SIGHUP: configuration reloaded (${e.users} user${e.users === 1 ? "" : "s"}${e.retired ? `; ${e.retired} connection${e.retired === 1 ? "" : "s"} whose token was withdrawn will close after their transfer` : ""})`;
}
