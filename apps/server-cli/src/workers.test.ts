// `ferry-server --workers 2` as users run it: real processes under node:cluster. The guarantees
// themselves (caps, eviction, auth blocking, locks, quotas, the index, links) are tested case by case
// with two workers in one process in @ferry/server-workers; here, that the processes are wired so.
import { createHash } from "node:crypto";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { stat, writeFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { FerryClient } from "@ferry/client-core";
import { onCleanup, run, runCleanups, startServer, tempDir, waitFor, type Running } from "./testing/server-process.js";

afterEach(runCleanups);

type Line = Record<string, unknown>;
const jsonLines = (server: Running): Line[] =>
  server
    .output()
    .trim()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Line);
const count = (server: Running, event: string): number => jsonLines(server).filter((line) => line["event"] === event).length;
const user = (name: string, token: string) => ({ name, tokenSha256: createHash("sha256").update(token).digest("hex"), permissions: ["read", "write", "delete"] });

/** One GET on a connection of its own (so each may reach another worker): the status. */
function getStatus(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false, headers }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    }).on("error", reject);
  });
}

/** A 2-worker server with --http, and a download link to a file `name` made through it. */
async function shareThroughWorkers(name: string, limits: { maxDownloads?: number; password?: string }): Promise<{ url: string }> {
  const dir = await tempDir();
  await writeFile(path.join(dir, name), "shared through workers");
  const server = await startServer(["--port", "0", "--dir", dir, "--http", "0", "--log", "json", "--workers", "2"]);
  await waitFor(() => count(server, "http-listening") === 1);
  const client = await FerryClient.connect({ port: server.port });
  const shared = await client.share({ kind: "download", paths: [name], expiresIn: 60, ...limits });
  await client.close();
  return shared;
}

describe("ferry-server --workers", () => {
  it("2: two processes serve one port and number connections once; 1: one process", async () => {
    const two = await startServer(["--port", "0", "--dir", await tempDir(), "--no-fsync", "--log", "json", "--workers", "2"]);
    expect(jsonLines(two)[0]).toMatchObject({ event: "listening", workers: 2, pid: two.child.pid, msg: expect.stringContaining("2 workers") });
    const clients = await Promise.all(Array.from({ length: 6 }, () => FerryClient.connect({ port: two.port })));
    await Promise.all(clients.map((client, i) => client.uploadStream([Buffer.from(`file ${i}`)], { name: `f${i}.txt`, size: 6 })));
    await Promise.all(clients.map((client) => client.close()));
    await waitFor(() => count(two, "connection-closed") === 6);
    const connections = jsonLines(two).filter((line) => line["event"] === "connection");
    expect(connections.map((line) => line["conn"]).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    const pids = new Set(connections.map((line) => line["pid"]));
    expect(pids.size).toBe(2);
    expect(pids.has(two.child.pid)).toBe(false);

    const one = await startServer(["--port", "0", "--dir", await tempDir(), "--no-fsync", "--log", "json", "--workers", "1"]);
    const client = await FerryClient.connect({ port: one.port });
    await client.close();
    await waitFor(() => count(one, "connection-closed") === 1);
    expect(new Set(jsonLines(one).map((line) => line["pid"]))).toEqual(new Set([one.child.pid]));
  });

  it("/metrics adds every worker up, and SIGHUP reaches every worker (told once)", async () => {
    const dir = await tempDir();
    const config = path.join(dir, "server.json");
    await writeFile(config, JSON.stringify({ users: [user("alice", "alice-old-token-0123456789")], authFailureDelayMs: 0, maxAuthFailures: 100 }));
    const server = await startServer(["--port", "0", "--dir", path.join(dir, "store"), "--config", config, "--admin", "0", "--log", "json", "--workers", "2"]);
    await waitFor(() => count(server, "admin-listening") === 1);
    const admin = jsonLines(server).find((line) => line["event"] === "admin-listening")!["port"] as number;
    const clients = await Promise.all(Array.from({ length: 4 }, () => FerryClient.connect({ port: server.port, token: "alice-old-token-0123456789" })));
    await Promise.all(clients.map((client, i) => client.uploadStream([Buffer.from("counted")], { name: `c${i}.txt`, size: 7 })));
    await Promise.all(clients.map((client) => client.close()));
    await waitFor(() => count(server, "connection-closed") === 4);
    const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
    expect(metrics).toMatch(/^ferry_connections_total 4$/m);
    expect(metrics).toMatch(/^ferry_files_total\{outcome="created"\} 4$/m);
    expect(metrics).toMatch(/^ferry_connections_open 0$/m);

    await writeFile(config, JSON.stringify({ users: [user("alice", "alice-new-token-0123456789")], authFailureDelayMs: 0, maxAuthFailures: 100 }));
    server.child.kill("SIGHUP");
    await waitFor(() => count(server, "reloaded") === 1);
    // Four connections: with two workers, both are asked; neither takes the old token any more.
    const old = await Promise.all(Array.from({ length: 4 }, () => FerryClient.connect({ port: server.port, token: "alice-old-token-0123456789" }).then(() => "connected", (e: { code: string }) => e.code)));
    expect(old).toEqual(["AUTH_FAILED", "AUTH_FAILED", "AUTH_FAILED", "AUTH_FAILED"]);
    const renewed = await FerryClient.connect({ port: server.port, token: "alice-new-token-0123456789" });
    await renewed.close();
    expect(await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text()).toMatch(/^ferry_reloads_total 1$/m);
    expect(count(server, "reloaded")).toBe(1);
  });

  it("share links count downloads once over every worker's HTTP listener", async () => {
    const shared = await shareThroughWorkers("notes.txt", { maxDownloads: 2 });
    // Each on a connection of its own, so the listener of either worker may answer: the count is one.
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await getStatus(`${shared.url}/f/notes.txt`));
    expect(statuses).toEqual([200, 200, 410, 410]);
  });

  it("wrong share passwords count together over every worker: the 11th try is refused, even the right one", async () => {
    const shared = await shareThroughWorkers("secret.txt", { password: "right-password" });
    const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`x:${password}`).toString("base64")}` });
    // Each on a connection of its own: round-robin spreads them over both workers' listeners.
    for (let i = 0; i < 10; i++) expect(await getStatus(`${shared.url}/f/secret.txt`, basic("wrong-password"))).toBe(401);
    expect(await getStatus(`${shared.url}/f/secret.txt`, basic("right-password"))).toBe(429);
  });

  it("replaces a worker that dies; its connections give their slots back", async () => {
    const server = await startServer(["--port", "0", "--dir", await tempDir(), "--no-fsync", "--log", "json", "--workers", "2", "--max-clients", "2"], { FERRY_SLOT_GRACE_MS: "3600000" });
    const first = await FerryClient.connect({ port: server.port });
    const second = await FerryClient.connect({ port: server.port });
    await expect(FerryClient.connect({ port: server.port })).rejects.toMatchObject({ code: "BUSY" });
    await waitFor(() => count(server, "connection") === 2);
    const victim = jsonLines(server).find((line) => line["event"] === "connection")!["pid"] as number;
    process.kill(victim, "SIGKILL");
    await waitFor(() => count(server, "worker-exited") === 1);
    // The dead worker's connection freed its slot: a newcomer is served beside the survivor.
    const third = await FerryClient.connect({ port: server.port });
    await third.uploadStream([Buffer.from("after")], { name: "after.txt", size: 5 });
    await Promise.all([third.close(), first.close().catch(() => undefined), second.close().catch(() => undefined)]);
    expect(jsonLines(server).find((line) => line["event"] === "worker-exited")).toMatchObject({ level: "warn", signal: "SIGKILL" });
  });

  it("SIGTERM lets an upload in progress on a worker finish before the server exits 0", async () => {
    const dir = await tempDir();
    const server = await startServer(["--port", "0", "--dir", dir, "--no-fsync", "--log", "json", "--workers", "2", "--grace", "60000"]);
    const client = await FerryClient.connect({ port: server.port });
    const half = Buffer.alloc(4 * 1024 * 1024, 7);
    let signalled!: () => void;
    const stopping = new Promise<void>((resolve) => (signalled = resolve));
    async function* body(): AsyncGenerator<Buffer> {
      yield half;
      await stopping; // the rest only once the server is stopping
      yield half;
    }
    const upload = client.uploadStream(body(), { name: "finished.bin", size: 2 * half.length });
    await waitFor(() => count(server, "upload-started") === 1);
    server.child.kill("SIGTERM");
    await waitFor(() => server.output().includes("SIGTERM: stopping"));
    signalled();
    expect((await upload).name).toBe("finished.bin");
    await client.close();
    expect(await server.exited).toBe(0);
    expect((await stat(path.join(dir, "finished.bin"))).size).toBe(2 * half.length);
  });

  it("SIGTERM stops every worker and exits 0", async () => {
    const server = await startServer(["--port", "0", "--dir", await tempDir(), "--no-fsync", "--log", "json", "--workers", "2"]);
    const clients = await Promise.all([FerryClient.connect({ port: server.port }), FerryClient.connect({ port: server.port })]);
    await waitFor(() => count(server, "connection") === 2);
    const workers = [...new Set(jsonLines(server).filter((line) => line["event"] === "connection").map((line) => line["pid"] as number))];
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(workers.filter(alive)).toEqual([]);
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  });

  it("a data port in use: exit 4 with one line", async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    onCleanup(() => new Promise<void>((resolve) => busy.close(() => resolve())));
    const taken = (busy.address() as net.AddressInfo).port;
    const result = await run(["--port", String(taken), "--dir", await tempDir(), "--workers", "2"]);
    expect(result.code).toBe(4);
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringContaining(`cannot listen on 127.0.0.1:${taken}`)]);
  });
});
