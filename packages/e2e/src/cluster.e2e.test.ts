// Scale-out (docs/scale-out.md): several servers over one Swift (S3 API) and one PostgreSQL. Needs
// both running (scripts/swift.sh, scripts/postgres.sh; .ci/run starts them); skipped otherwise.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { execFile } from "node:child_process";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientError, FerryClient } from "@ferry/client-core";
import { openClusterStorage, PgShareStore } from "@ferry/cluster-store";
import { startShareWeb, type ShareWeb } from "@ferry/share-web";
import { clusterEnv, freshCluster } from "@ferry/cluster-store/testing";
import { hashToken } from "@ferry/server-core";
import { sha256, sha256File, startTestServer, tempDir, waitFor, writeRandomFile, type TestServer } from "@ferry/server-core/testing";

const MiB = 1024 * 1024;
const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER_BIN = path.resolve(here, "../../../apps/server-cli/dist/ferry-server.mjs");
const SWIFT_SCRIPT = path.resolve(here, "../../../scripts/swift.sh");
const env = clusterEnv();

if ("skipped" in env) {
  console.log(`skipped: cluster e2e: ${env.skipped}`);
  describe.skip("several servers over one object store and one database", () => it("needs Swift and PostgreSQL", () => undefined));
} else {
  describe("several servers over one object store and one database", () => {
    let cluster: Awaited<ReturnType<typeof freshCluster>>;
    let local: Awaited<ReturnType<typeof tempDir>>;
    const servers: TestServer[] = [];

    /** An in-process server with its own connections to the shared store (as another machine would have). */
    async function startServer(config: Parameters<typeof startTestServer>[0] = {}, endpoint?: string): Promise<TestServer> {
      const storageConfig = endpoint ? { ...cluster.config, s3: { ...cluster.config.s3, endpoint } } : cluster.config;
      const server = await startTestServer(config, {
        storage: () => openClusterStorage(storageConfig),
        shares: () => PgShareStore.open(cluster.config.db, { schema: cluster.config.schema! }),
      });
      servers.push(server);
      return server;
    }

    beforeAll(async () => {
      cluster = await freshCluster(env);
      (await cluster.open()).close(); // creates the schema the server processes below use by URL
      local = await tempDir("ferry-cluster-");
    });
    afterAll(async () => {
      for (const server of servers) await server.cleanup();
      await local.cleanup();
      await cluster.cleanup();
    });

    it("serves a link made through A from B, counts its downloads across both, and takes a browser upload whose pieces reach A and B", async () => {
      const [a, b] = [await startServer(), await startServer()];
      const webs: ShareWeb[] = [];
      for (const server of [a, b]) webs.push(await startShareWeb(server.server, { host: "127.0.0.1", port: 0 }));
      try {
        const source = path.join(local.dir, "link.bin");
        const digest = await writeRandomFile(source, 3 * MiB + 1);
        const toA = await FerryClient.connect({ port: a.port });
        await toA.upload(source, { name: "links/link.bin" });
        const shared = await toA.share({ kind: "download", paths: ["links/link.bin"], expiresIn: 600, maxDownloads: 1 });
        const path_ = new URL(shared.url).pathname;
        const viaB = await fetch(`${webs[1]!.url}${path_}/f/links/link.bin`);
        expect(viaB.status).toBe(200);
        expect(viaB.headers.get("etag")).toBe(`"${digest}"`);
        expect(sha256(new Uint8Array(await viaB.arrayBuffer()))).toBe(digest);
        // The one download was B's: A sees the link used up.
        expect((await fetch(`${webs[0]!.url}${path_}/f/links/link.bin`)).status).toBe(410);

        const upload = await toA.share({ kind: "upload", paths: ["drop"], expiresIn: 600 });
        await toA.close();
        const base = new URL(upload.url).pathname;
        const body = Buffer.alloc(9 * MiB + 7, 7);
        const tus = { "tus-resumable": "1.0.0" };
        const created = await fetch(`${webs[0]!.url}${base}/tus`, { method: "POST", headers: { ...tus, "upload-length": String(body.length), "upload-metadata": `filename ${Buffer.from("x.bin").toString("base64")}` } });
        const location = created.headers.get("location")!;
        const patch = (web: ShareWeb, offset: number, bytes: Buffer) =>
          fetch(`${web.url}${location}`, { method: "PATCH", headers: { ...tus, "content-type": "application/offset+octet-stream", "upload-offset": String(offset) }, body: bytes });
        expect((await patch(webs[0]!, 0, body.subarray(0, 8 * MiB))).headers.get("upload-offset")).toBe(String(8 * MiB));
        expect((await fetch(`${webs[1]!.url}${location}`, { method: "HEAD", headers: tus })).headers.get("upload-offset")).toBe(String(8 * MiB));
        const last = await patch(webs[1]!, 8 * MiB, body.subarray(8 * MiB));
        expect(last.headers.get("ferry-sha256")).toBe(sha256(body));
        const toB = await FerryClient.connect({ port: b.port });
        expect(await toB.list("drop")).toEqual([expect.objectContaining({ name: "drop/x.bin", size: body.length, sha256: sha256(body) })]);
        await toB.close();
      } finally {
        for (const web of webs) await web.close();
      }
    });

    it("stores through A and serves the same bytes and SHA-256 through B", async () => {
      const [a, b] = [await startServer(), await startServer()];
      const source = path.join(local.dir, "shared.bin");
      const digest = await writeRandomFile(source, 12 * MiB + 5);
      // A client asking for BLAKE3 gets SHA-256: the cluster storage receives SHA-256 only (protocol.md §4.7).
      const toA = await FerryClient.connect({ port: a.port, digest: "blake3" });
      expect(toA.digest).toBe("sha256");
      expect((await toA.upload(source, { name: "team/shared.bin" })).digest).toEqual({ algorithm: "sha256", hex: digest });
      await toA.close();
      const toB = await FerryClient.connect({ port: b.port });
      const listed = await toB.list("team");
      expect(listed).toEqual([expect.objectContaining({ name: "team/shared.bin", size: 12 * MiB + 5, sha256: digest })]);
      const inbox = path.join(local.dir, "inbox");
      const got = await toB.download("team/shared.bin", { dir: inbox });
      await toB.close();
      expect(got.digest?.hex).toBe(digest);
      expect(await sha256File(got.path)).toBe(digest);
    });

    it("decides one name uploaded through A and B at the same moment: fail stores one, rename stores both", async () => {
      const [a, b] = [await startServer(), await startServer()];
      const clients = [await FerryClient.connect({ port: a.port }), await FerryClient.connect({ port: b.port })];
      const bodies = [Buffer.from("from A"), Buffer.from("from B")];
      const send = (policy: "fail" | "rename", name: string) =>
        Promise.allSettled(clients.map((client, at) => client.uploadStream([bodies[at]!], { name, size: bodies[at]!.length, onConflict: policy })));
      const failed = await send("fail", "race.txt");
      expect(failed.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const refused = failed.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect((refused.reason as ClientError).code).toBe("ALREADY_EXISTS");
      const renamed = await send("rename", "both.txt");
      const names = renamed.map((r) => (r.status === "fulfilled" ? r.value.name : "refused"));
      expect(names.sort()).toEqual(["both (1).txt", "both.txt"]);
      const listing = (await clients[1]!.list()).filter((e) => e.name.startsWith("both"));
      expect(listing.map((e) => e.sha256).sort()).toEqual(bodies.map((body) => sha256(body)).sort());
      for (const client of clients) await client.close();
    });

    it("never lets parallel uploads through two servers pass a shared quota", async () => {
      const token = "quota-user-token-0123456789";
      const users = [{ name: "q", tokenSha256: hashToken(token), permissions: ["read", "write", "delete"] as const, dir: "q", quotaBytes: 10 * MiB }];
      const [a, b] = [await startServer({ users: users.map((u) => ({ ...u, permissions: [...u.permissions] })) }), await startServer({ users: users.map((u) => ({ ...u, permissions: [...u.permissions] })) })];
      const body = Buffer.alloc(2 * MiB, 7);
      const attempts = await Promise.allSettled(
        Array.from({ length: 10 }, async (_, at) => {
          const client = await FerryClient.connect({ port: (at % 2 === 0 ? a : b).port, token });
          try {
            return await client.uploadStream([body], { name: `f${at}.bin`, size: body.length });
          } finally {
            await client.close();
          }
        }),
      );
      const stored = attempts.filter((r) => r.status === "fulfilled");
      for (const r of attempts) if (r.status === "rejected") expect((r.reason as ClientError).code).toBe("QUOTA_EXCEEDED");
      expect(stored.length).toBeGreaterThanOrEqual(1);
      expect(stored.length).toBeLessThanOrEqual(5);
      const client = await FerryClient.connect({ port: b.port, token });
      const total = (await client.list()).reduce((sum, e) => sum + e.size, 0);
      await client.close();
      expect(total).toBeLessThanOrEqual(10 * MiB);
      expect(total).toBe(stored.length * body.length);
    });

    it("finishes on B a 200 MiB upload whose server A was killed (SIGKILL) at half, sending well under the full size again", async () => {
      const source = path.join(local.dir, "big.bin");
      const size = 200 * MiB;
      const digest = await writeRandomFile(source, size);
      const a = await spawnServer(cluster.config.s3.endpoint, cluster.config.s3.bucket, cluster.dbUrl);
      const toA = await FerryClient.connect({ port: a.port });
      const cut = await toA
        .upload(source, {
          onProgress: (p) => {
            if (p.bytes >= size / 2 && a.child.exitCode === null && !a.child.killed) a.child.kill("SIGKILL");
          },
        })
        .catch((error: unknown) => error);
      expect(cut).toBeInstanceOf(ClientError);
      await a.exited;
      await toA.close().catch(() => undefined);
      // PostgreSQL drops a dead server's advisory locks once its backends see the connections close.
      await waitFor(async () => (await backendsOf(env.db, a.child.pid!)) === 0);
      const b = await spawnServer(cluster.config.s3.endpoint, cluster.config.s3.bucket, cluster.dbUrl);
      try {
        const toB = await FerryClient.connect({ port: b.port });
        const result = await toB.upload(source);
        await toB.close();
        expect(result.digest.hex).toBe(digest);
        const sentAgain = size - result.resumedFrom;
        // The figure docs/scale-out.md quotes: how much of the upload B did not need again.
        console.log(`cluster: 200 MiB, A killed at half; B resumed from ${result.resumedFrom} bytes, ${sentAgain} sent again`);
        expect(result.resumedFrom).toBeGreaterThan(0);
        expect(sentAgain).toBeLessThan(0.75 * size);
        const check = await FerryClient.connect({ port: b.port });
        expect((await check.list()).find((e) => e.name === "big.bin")?.sha256).toBe(digest);
        await check.close();
      } finally {
        b.child.kill("SIGTERM");
        await b.exited;
      }
    });

    it("ferry-server --workers 2 on the cluster: both workers serve one store, each file listed with its digest", async () => {
      const server = await spawnServer(cluster.config.s3.endpoint, cluster.config.s3.bucket, cluster.dbUrl, 2);
      try {
        const bodies = Array.from({ length: 6 }, (_, i) => Buffer.alloc(100_000 + i, i + 1));
        const clients = await Promise.all(bodies.map(() => FerryClient.connect({ port: server.port })));
        await Promise.all(clients.map((client, i) => client.uploadStream([bodies[i]!], { name: `w${i}.bin`, size: bodies[i]!.length })));
        await Promise.all(clients.map((client) => client.close()));
        const check = await FerryClient.connect({ port: server.port });
        const listed = (await check.list()).filter((entry) => entry.name.startsWith("w"));
        await check.close();
        expect(listed.map((entry) => [entry.name, entry.sha256])).toEqual(bodies.map((body, i) => [`w${i}.bin`, sha256(body)]));
      } finally {
        server.child.kill("SIGTERM");
        await server.exited;
      }
    });

    it("fails an upload with STORAGE_ERROR when the object store goes away, publishes nothing, and resumes once it is back", async () => {
      // A proxy of its own: killing it leaves the one the other tests use alone.
      const proxy = await startProxy();
      const server = await startServer({}, `http://127.0.0.1:${proxy.port}`);
      const source = path.join(local.dir, "outage.bin");
      const size = 64 * MiB;
      const digest = await writeRandomFile(source, size);
      const client = await FerryClient.connect({ port: server.port });
      const failure = await client
        .upload(source, {
          onProgress: (p) => {
            if (p.bytes >= size / 2) proxy.kill();
          },
        })
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ClientError);
      expect((failure as ClientError).code).toBe("STORAGE_ERROR");
      // The connection still serves: the catalog says nothing is under the name.
      expect((await client.list()).filter((e) => e.name === "outage.bin")).toEqual([]);
      await client.close();
      await proxy.restart();
      try {
        const again = await FerryClient.connect({ port: server.port });
        const result = await again.upload(source);
        await again.close();
        expect(result.digest.hex).toBe(digest);
        expect(result.resumedFrom).toBeGreaterThan(0);
        console.log(`cluster: 64 MiB, store lost at half; resumed from ${result.resumedFrom} bytes once it was back`);
      } finally {
        proxy.kill();
      }
    });
  });
}

/** A ferry-server process on the cluster store (one process unless `workers`: its pid is the server's); resolves once it listens. */
async function spawnServer(endpoint: string, bucket: string, db: string, workers = 1): Promise<{ child: ChildProcess; port: number; exited: Promise<void> }> {
  const child = spawn(process.execPath, [SERVER_BIN, "-p", "0", "--workers", String(workers), "--log", "json", "--no-fsync", "--s3-endpoint", endpoint, "--s3-bucket", bucket, "--db", db], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let errors = "";
  child.stderr!.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    lines.on("line", (line) => {
      const event = JSON.parse(line) as { event?: string; port?: number };
      if (event.event === "listening") resolve(event.port!);
    });
    child.once("exit", (code) => reject(new Error(`ferry-server exited ${code}: ${errors}`)));
  });
  return { child, port, exited };
}

/** PostgreSQL backends still serving the ferry-server process `pid` (PgCatalog names them so). */
async function backendsOf(db: string, pid: number): Promise<number> {
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  try {
    const { rows } = await client.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1", [`ferry-server ${pid}`]);
    return rows[0].n as number;
  } finally {
    await client.end();
  }
}

/** One more Swift proxy (scripts/swift.sh proxy), which the test may kill and start again on the same port. */
async function startProxy(): Promise<{ port: number; kill(): void; restart(): Promise<void> }> {
  const dir = process.env["FERRY_TEST_SWIFT_DIR"];
  if (!dir) throw new Error("FERRY_TEST_SWIFT_DIR is not set (scripts/swift.sh writes it)");
  const run = promisify(execFile);
  const started = async (port?: number) => {
    const { stdout } = await run(SWIFT_SCRIPT, ["proxy", dir, ...(port ? [String(port)] : [])]);
    const [p, pid] = stdout.trim().split(" ").map(Number);
    return { port: p!, pid: pid! };
  };
  let current = await started();
  return {
    port: current.port,
    kill() {
      try {
        process.kill(-current.pid, "SIGKILL"); // the proxy's process group: it and its worker
      } catch {
        // already gone
      }
    },
    async restart() {
      current = await started(current.port);
    },
  };
}
