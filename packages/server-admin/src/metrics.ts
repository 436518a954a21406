import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { FerryServer } from "@ferry/server-core";

/** Upload, download and fsync durations: 1 ms to 5 min. */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];
const FSYNC_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1];

/**
 * Prometheus metrics of one FerryServer through prom-client, fed by its typed events (counters and
 * histograms) and by `server.stats()` read at each scrape (gauges). Names follow Prometheus
 * conventions under the `ferry_` prefix; prom-client's default process metrics ride along
 * unprefixed (`process_resident_memory_bytes`, …). No label carries a file name or a token: labels
 * are request types, outcomes, error codes, refusal reasons and configured user names (bounded).
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly #server: FerryServer;
  readonly #gauges: {
    open: Gauge;
    resumable: Gauge;
    blocked: Gauge;
    free: Gauge;
    quotaUsed: Gauge<"user">;
    quotaLimit: Gauge<"user">;
  };
  #refreshing: Promise<void> | undefined;
  /** Offsets uploads resumed from, by connection and name, so received bytes count what crossed the wire. */
  readonly #resumedFrom = new Map<string, number>();

  constructor(server: FerryServer) {
    this.#server = server;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) => new Counter<L>({ name, help, labelNames, registers });
    const connections = counter("ferry_connections_total", "Connections accepted.");
    const refused = counter("ferry_connections_refused_total", "Connections refused, by reason.", ["reason"]);
    const evicted = counter("ferry_connections_evicted_total", "Connections closed to make room for a new one, by reason.", ["reason"]);
    const requests = counter("ferry_requests_total", "Requests answered, by type (put, raw, get, list, delete) and outcome (ok or the error code).", ["type", "outcome"]);
    const files = counter("ferry_files_total", "Uploads that ended in storage, by outcome (created, renamed, overwritten, unchanged, skipped).", ["outcome"]);
    const failures = counter("ferry_upload_failures_total", "Uploads that failed, by error code.", ["code"]);
    const received = counter("ferry_received_bytes_total", "File bytes received in uploads that completed (a resumed upload counts what was sent again).");
    const sent = counter("ferry_sent_bytes_total", "File bytes sent in downloads that completed (a resumed download counts what was sent).");
    const authFailures = counter("ferry_auth_failures_total", "Failed authentications, by code (AUTH_REQUIRED, AUTH_FAILED).", ["code"]);
    const swept = counter("ferry_partials_swept_total", "Interrupted resumable uploads deleted after partialTtlMs.");
    const internal = counter("ferry_internal_errors_total", "Bugs: exceptions the server did not expect.");
    // Every worker takes each reload: counted once over workers.
    const reloads = new Counter({ name: "ferry_reloads_total", help: "Configurations taken by reload (SIGHUP).", registers, aggregator: "max" });
    const links = counter("ferry_share_links_total", "Share links made and revoked, by action (created, revoked).", ["action"]);
    const linkDownloads = counter("ferry_share_downloads_total", "Share-link downloads (a file, or a zip) that ended, by outcome (complete, stopped).", ["outcome"]);
    const linkSent = counter("ferry_share_sent_bytes_total", "File bytes sent through share links (zips: the bytes of the files inside).");
    const linkUploads = counter("ferry_share_uploads_total", "Files received through upload links and published.");
    const linkReceived = counter("ferry_share_received_bytes_total", "Bytes of files published through upload links (a resumed one counts its whole size).");
    const histogram = (name: string, help: string, buckets: number[]) => new Histogram({ name, help, buckets, registers });
    const uploadSeconds = histogram("ferry_upload_duration_seconds", "Time from PUT to STORED of completed uploads.", DURATION_BUCKETS);
    const downloadSeconds = histogram("ferry_download_duration_seconds", "Time from GET to GET_END of completed downloads.", DURATION_BUCKETS);
    const fsyncSeconds = histogram("ferry_fsync_duration_seconds", "Time of each batch of fsyncs before publishing (local storage).", FSYNC_BUCKETS);
    // Gauges are read from server.stats() as they are collected (a scrape, or a primary asking its
    // workers). Over workers (ferry-server --workers N), per-worker counts add up ("sum"); figures
    // every worker reads from the same place (the primary's, the disk's) are taken once ("max").
    const refresh = (): Promise<void> => (this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined)));
    const gauge = <L extends string>(name: string, help: string, labelNames: L[] = [], aggregator: "sum" | "max" = "sum") =>
      new Gauge<L>({ name, help, labelNames, registers, aggregator, collect: refresh });
    this.#gauges = {
      open: gauge("ferry_connections_open", "Connections being served now."),
      resumable: gauge("ferry_resumable_uploads_active", "Resumable uploads being received now."),
      blocked: gauge("ferry_blocked_addresses", "Addresses refused now for too many failed authentications.", [], "max"),
      free: gauge("ferry_storage_free_bytes", "Free bytes of the storage directory (absent for an object store).", [], "max"),
      quotaUsed: gauge("ferry_quota_used_bytes", "Bytes stored by each user with a quota.", ["user"], "max"),
      quotaLimit: gauge("ferry_quota_limit_bytes", "Quota of each user with one.", ["user"], "max"),
    };

    server.on("connection", () => connections.inc());
    server.on("connection-rejected", (e) => refused.inc({ reason: e.code === "BUSY" ? "busy" : e.code.toLowerCase() }));
    server.on("connection-evicted", (e) => evicted.inc({ reason: e.reason }));
    server.on("upload-started", (e) => {
      if (e.name !== null && e.resumedFrom) this.#resumedFrom.set(`${e.connection}\0${e.name}`, e.resumedFrom);
    });
    server.on("upload-stored", (e) => {
      requests.inc({ type: e.raw ? "raw" : "put", outcome: "ok" });
      files.inc({ outcome: e.outcome });
      const key = `${e.connection}\0${e.requestedName ?? ""}`;
      received.inc(e.size - (this.#resumedFrom.get(key) ?? 0));
      this.#resumedFrom.delete(key);
      uploadSeconds.observe(e.durationMs / 1000);
    });
    server.on("upload-failed", (e) => {
      requests.inc({ type: e.raw ? "raw" : "put", outcome: e.code });
      failures.inc({ code: e.code });
      if (e.name !== null) this.#resumedFrom.delete(`${e.connection}\0${e.name}`);
    });
    server.on("download-sent", (e) => {
      requests.inc({ type: "get", outcome: "ok" });
      sent.inc(e.size - e.resumedFrom);
      downloadSeconds.observe(e.durationMs / 1000);
    });
    server.on("listed", () => requests.inc({ type: "list", outcome: "ok" }));
    server.on("deleted", () => requests.inc({ type: "delete", outcome: "ok" }));
    server.on("request-failed", (e) => requests.inc({ type: e.request, outcome: e.code }));
    server.on("auth-failed", (e) => authFailures.inc({ code: e.code }));
    server.on("fsync", (e) => fsyncSeconds.observe(e.durationMs / 1000));
    server.on("partials-swept", (e) => swept.inc(e.count));
    server.on("internal-error", () => internal.inc());
    server.on("reloaded", () => reloads.inc());
    server.on("share-created", () => links.inc({ action: "created" }));
    server.on("share-revoked", () => links.inc({ action: "revoked" }));
    server.on("share-downloaded", (e) => {
      linkDownloads.inc({ outcome: e.complete ? "complete" : "stopped" });
      linkSent.inc(e.bytes);
    });
    server.on("share-uploaded", (e) => {
      linkUploads.inc();
      linkReceived.inc(e.size);
    });
    server.on("connection-closed", (e) => {
      for (const key of this.#resumedFrom.keys()) if (key.startsWith(`${e.connection}\0`)) this.#resumedFrom.delete(key);
    });
  }

  /** The Prometheus text exposition, gauges read now. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  async #refresh(): Promise<void> {
    const stats = await this.#server.stats();
    const g = this.#gauges;
    g.open.set(stats.connections);
    g.resumable.set(stats.resumableInProgress);
    g.blocked.set(stats.blockedAddresses);
    if (stats.storageFreeBytes === null) g.free.reset();
    else g.free.set(stats.storageFreeBytes);
    g.quotaUsed.reset();
    g.quotaLimit.reset();
    for (const quota of stats.quotas) {
      g.quotaUsed.set({ user: quota.user }, quota.usedBytes);
      g.quotaLimit.set({ user: quota.user }, quota.limitBytes);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
