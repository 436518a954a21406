import type { FerryServer } from "@ferry/server-core";
import { formatBytes, formatDuration, formatRate, printable } from "@ferry/cli-text";

export type LogFormat = "text" | "json";

/**
 * One line per server event, the lab's sentences kept ("Connected with client 1") and extended with
 * address, bytes, time and throughput. `json` writes the event objects as JSON lines instead.
 */
export function attachEventLog(server: FerryServer, write: (line: string) => void, format: LogFormat): void {
  const time = (): string => new Date().toISOString();
  const emit = (event: string, text: string, data: object): void => {
    write(format === "json" ? JSON.stringify({ time: time(), event, ...data }) : `${time()} ${text}`);
  };
  server.on("listening", (e) => {
    const c = server.config;
    emit(
      "listening",
      `listening on ${e.host}:${e.port} — storing in ${e.dir} (max ${c.maxClients} clients, raw uploads ${e.raw ? "on" : "off"}, ${e.open ? "OPEN (no users)" : `${c.users.length} user${c.users.length === 1 ? "" : "s"}`}${e.tlsFingerprint ? `, TLS ${e.tlsFingerprint}` : ""}${c.fsync ? "" : ", fsync OFF"})`,
      e,
    );
  });
  server.on("connection", (e) => emit("connection", `Connected with client ${e.connection} (${e.remote})`, e));
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
      `Received successfully from client ${e.connection}! New filename is: ${printable(e.name)}${replaced} — ${formatBytes(e.size)} in ${formatDuration(e.durationMs)}, ${formatRate(e.size, e.durationMs)}, sha256 ${e.sha256}`,
      e,
    );
  });
  server.on("download-sent", (e) => {
    emit(
      "download-sent",
      `Sent ${printable(e.name)} to client ${e.connection} — ${formatBytes(e.size)} in ${formatDuration(e.durationMs)}, ${formatRate(e.size, e.durationMs)}, sha256 ${e.sha256}`,
      e,
    );
  });
  server.on("deleted", (e) => emit("deleted", `Client ${e.connection} deleted ${printable(e.name)}`, e));
  server.on("request-failed", (e) => {
    const what = e.name === null ? e.request : `${e.request} ${printable(e.name)}`;
    emit("request-failed", `Client ${e.connection}: ${what} failed: ${e.code} — ${printable(e.message)}`, e);
  });
  server.on("upload-failed", (e) => {
    emit("upload-failed", `Upload from client ${e.connection} failed${e.name === null ? "" : ` (${printable(e.name)})`}: ${e.code} — ${printable(e.message)}`, e);
  });
  server.on("connection-error", (e) => emit("connection-error", `Client ${e.connection} dropped: ${e.code} — ${e.message}`, e));
  server.on("internal-error", (e) => emit("internal-error", `Internal error serving client ${e.connection} (a bug: please report it): ${e.message}\n${e.stack}`, e));
  server.on("connection-closed", (e) => {
    emit("connection-closed", `Client ${e.connection} disconnected (${e.stored} stored, ${e.failed} failed)`, e);
  });
}
