import { rename, rm, writeFile } from "node:fs/promises";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClientError, FerryClient } from "@ferry/client-core";
import { hashToken, ServerError } from "@ferry/server-core";
import { sha256, startTestServer, tempDir, waitFor, WirePeer, type TestServer } from "@ferry/server-core/testing";
import { startShareWeb } from "@ferry/share-web";
import { ServerMetrics, startAdmin, type AdminServer } from "./index.js";

const TOKEN = "alice-token-for-the-admin-tests";
let server: TestServer;
let admin: AdminServer;
let local: Awaited<ReturnType<typeof tempDir>>;

beforeEach(async () => {
  server = await startTestServer({
    users: [{ name: "alice", tokenSha256: hashToken(TOKEN), permissions: ["read", "write", "delete"], dir: "alice", quotaBytes: 1_000_000 }],
    authFailureDelayMs: 0,
  });
  admin = await startAdmin(server.server, new ServerMetrics(server.server), { host: "127.0.0.1", port: 0 });
  local = await tempDir("ferry-admin-");
});
afterEach(async () => {
  await admin.close();
  await server.cleanup();
  await local.cleanup();
});

async function get(urlPath: string): Promise<{ status: number; body: string; type: string | null }> {
  const response = await fetch(`http://127.0.0.1:${admin.port}${urlPath}`);
  return { status: response.status, body: await response.text(), type: response.headers.get("content-type") };
}

type Family = { name: string; type: string; metrics: { value?: string; labels?: Record<string, string>; count?: string }[] };

/** The value of `name` with exactly `labels` (0 when the series does not exist yet). */
function value(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  const series = family?.metrics.find((m) => JSON.stringify(m.labels ?? {}) === JSON.stringify(labels));
  return Number(series?.value ?? series?.count ?? 0);
}

describe("/metrics", () => {
  it("moves each counter by exactly what happened, and parses as Prometheus text", async () => {
    const client = await FerryClient.connect({ port: server.port, token: TOKEN });
    await client.uploadStream([Buffer.alloc(1000, 1)], { name: "a.bin", size: 1000 });
    await client.uploadStream([Buffer.alloc(5000, 2)], { name: "b.bin", size: 5000 });
    await client.download("a.bin", { dir: local.dir });
    await client.list();
    await client.delete("b.bin");
    await client.close();
    const refused = await FerryClient.connect({ port: server.port, token: "not-a-token" }).then(
      () => "connected",
      (e: ClientError) => e.code,
    );
    expect(refused).toBe("AUTH_FAILED");
    const { peer } = await WirePeer.handshake(server.port, { token: TOKEN });
    peer.send({ type: "put", id: 1, name: "liar.bin", size: 4 });
    peer.data(Buffer.from("abcd"));
    peer.send({ type: "put_end", id: 1, sha256: sha256(Buffer.from("abce")) });
    expect(await peer.next()).toMatchObject({ type: "error", code: "CHECKSUM_MISMATCH" });

    const scraped = await get("/metrics");
    expect(scraped.status).toBe(200);
    expect(scraped.type).toContain("text/plain");
    const families = parsePrometheusTextFormat(scraped.body) as Family[];
    expect(value(families, "ferry_requests_total", { type: "put", outcome: "ok" })).toBe(2);
    expect(value(families, "ferry_requests_total", { type: "put", outcome: "CHECKSUM_MISMATCH" })).toBe(1);
    expect(value(families, "ferry_requests_total", { type: "get", outcome: "ok" })).toBe(1);
    expect(value(families, "ferry_requests_total", { type: "list", outcome: "ok" })).toBe(1);
    expect(value(families, "ferry_requests_total", { type: "delete", outcome: "ok" })).toBe(1);
    expect(value(families, "ferry_files_total", { outcome: "created" })).toBe(2);
    expect(value(families, "ferry_upload_failures_total", { code: "CHECKSUM_MISMATCH" })).toBe(1);
    expect(value(families, "ferry_received_bytes_total")).toBe(6000);
    expect(value(families, "ferry_sent_bytes_total")).toBe(1000);
    expect(value(families, "ferry_auth_failures_total", { code: "AUTH_FAILED" })).toBe(1);
    expect(value(families, "ferry_connections_total")).toBe(3);
    expect(value(families, "ferry_upload_duration_seconds")).toBe(2); // histogram count
    expect(value(families, "ferry_download_duration_seconds")).toBe(1);
    expect(value(families, "ferry_quota_used_bytes", { user: "alice" })).toBe(1000);
    expect(value(families, "ferry_quota_limit_bytes", { user: "alice" })).toBe(1_000_000);
    expect(value(families, "ferry_connections_open")).toBe(1); // the WirePeer
    expect(value(families, "ferry_storage_free_bytes")).toBeGreaterThan(0);
    expect(value(families, "process_resident_memory_bytes")).toBeGreaterThan(0);
    // Counts only: no file name or token in any answer.
    for (const secret of ["a.bin", "b.bin", "liar.bin", TOKEN]) expect(scraped.body).not.toContain(secret);
  });
});

describe("/metrics for share links", () => {
  it("counts links made and revoked, downloads and their bytes, and uploads through links", async () => {
    const web = await startShareWeb(server.server, { host: "127.0.0.1", port: 0 });
    try {
      const client = await FerryClient.connect({ port: server.port, token: TOKEN });
      await client.uploadStream([Buffer.alloc(3000, 3)], { name: "s.bin", size: 3000 });
      const download = await client.share({ kind: "download", paths: ["s.bin"], expiresIn: 60 });
      const upload = await client.share({ kind: "upload", paths: ["in"], expiresIn: 60 });
      await client.revokeShare(upload.link.fingerprint);
      const inbox = await client.share({ kind: "upload", paths: ["in"], expiresIn: 60 });
      await client.close();
      const tus = { "tus-resumable": "1.0.0" };
      const created = await fetch(`${inbox.url}/tus`, { method: "POST", headers: { ...tus, "upload-length": "5", "upload-metadata": `filename ${Buffer.from("x.txt").toString("base64")}` } });
      const location = new URL(created.headers.get("location")!, inbox.url).toString();
      const patched = await fetch(location, { method: "PATCH", headers: { ...tus, "content-type": "application/offset+octet-stream", "upload-offset": "0" }, body: "hello" });
      expect(patched.status).toBe(204);
      const served = new Promise((resolve) => server.server.once("share-downloaded", resolve));
      expect((await (await fetch(`${download.url}/f/s.bin`)).arrayBuffer()).byteLength).toBe(3000);
      await served;
      const families = parsePrometheusTextFormat((await get("/metrics")).body) as Family[];
      expect(value(families, "ferry_share_links_total", { action: "created" })).toBe(3);
      expect(value(families, "ferry_share_links_total", { action: "revoked" })).toBe(1);
      expect(value(families, "ferry_share_downloads_total", { outcome: "complete" })).toBe(1);
      expect(value(families, "ferry_share_sent_bytes_total")).toBe(3000);
      expect(value(families, "ferry_share_uploads_total")).toBe(1);
      expect(value(families, "ferry_share_received_bytes_total")).toBe(5);
    } finally {
      await web.close();
    }
  });
});

describe("the admin listener", () => {
  it("answers 404 to every path but /metrics, /healthz and /readyz", async () => {
    for (const other of ["/", "/metrics/x", "/healthz/", "/READYZ", "/a.bin", "/../etc/passwd", "/favicon.ico"]) {
      expect((await get(other)).status, other).toBe(404);
    }
    expect((await get("/healthz")).status).toBe(200);
    expect((await get("/healthz?probe=1")).status).toBe(200);
  });

  it("turns unready when the storage stops taking files, and ready again after", async () => {
    expect(await get("/readyz")).toMatchObject({ status: 200, body: "ready\n" });
    // Root ignores permissions: the storage dir is moved away and a plain file put in its place.
    const aside = `${server.dir}.aside`;
    await rename(server.dir, aside);
    await writeFile(server.dir, "not a directory");
    try {
      await waitFor(async () => (await get("/readyz")).status === 503);
      expect((await get("/readyz")).body).toBe("not ready: storage unavailable\n");
      expect((await get("/healthz")).status).toBe(200); // the process still serves
    } finally {
      await rm(server.dir);
      await rename(aside, server.dir);
    }
    await waitFor(async () => (await get("/readyz")).status === 200);
  });

  it("refuses to listen beyond loopback without TLS and tokens", async () => {
    const error = await startAdmin(server.server, new ServerMetrics(server.server), { host: "0.0.0.0", port: 0 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as ServerError).code).toBe("INVALID_CONFIG");
  });
});

