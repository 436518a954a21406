// Every cross-connection guarantee with two workers in one process: two FerryServers on one storage
// dir, each asking one WorkerPrimary over its own channel (messages through JSON, as node:cluster's
// IPC carries them). The real processes of `ferry-server --workers 2` are tested in apps/server-cli.
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FerryClient } from "@ferry/client-core";
import { checkServerConfig, type ServerConfigInput } from "@ferry/protocol";
import { hashToken, LocalShareStore } from "@ferry/server-core";
import { sha256, startTestServer, tempDir, WirePeer, type TestServer } from "@ferry/server-core/testing";
import { channelPair, RpcPeer } from "./rpc.js";
import { WorkerPrimary } from "./primary.js";
import { serveWorker, workerServerOptions } from "./worker.js";

const TOKEN = "a-token-of-alice-for-the-worker-tests";
const alice = (extra: object = {}) => ({ name: "alice", tokenSha256: hashToken(TOKEN), permissions: ["read", "write", "delete"] as ("read" | "write" | "delete")[], ...extra });

interface Workers {
  primary: WorkerPrimary;
  a: TestServer;
  b: TestServer;
  cleanup(): Promise<void>;
}

let running: Workers | undefined;
afterEach(async () => {
  await running?.cleanup();
  running = undefined;
});

async function startWorkers(input: ServerConfigInput): Promise<Workers> {
  const store = await tempDir("ferry-workers-");
  const checked = checkServerConfig({ host: "127.0.0.1", port: 0, fsync: false, ...input, dir: store.dir });
  if (!checked.ok) throw new Error(checked.message);
  const config = checked.config;
  const primary = await WorkerPrimary.open(config, { shares: () => LocalShareStore.open(store.dir) });
  const worker = async (id: number): Promise<TestServer> => {
    const [atPrimary, atWorker] = channelPair();
    primary.attach(id, atPrimary);
    const peer = new RpcPeer(atWorker);
    const server = await startTestServer({ ...input, dir: store.dir }, workerServerOptions(peer, config, { sharesAtPrimary: true }));
    serveWorker(peer, server.server);
    return server;
  };
  const a = await worker(1);
  const b = await worker(2);
  running = {
    primary,
    a,
    b,
    async cleanup() {
      await Promise.all([a.cleanup(), b.cleanup()]);
      await primary.close();
      await store.cleanup();
    },
  };
  return running;
}

async function silentSocket(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.on("error", () => undefined);
  await new Promise((resolve) => socket.once("connect", resolve));
  return socket;
}

describe("connection caps across workers", () => {
  it("counts every worker's connections against max-clients and numbers them once", async () => {
    // slotGraceMs: an hour, so that no slot is ever taken over, however slow this machine is.
    const { a, b } = await startWorkers({ maxClients: 2, slotGraceMs: 3_600_000 });
    const first = await FerryClient.connect({ port: a.port });
    const second = await FerryClient.connect({ port: b.port });
    await expect(FerryClient.connect({ port: a.port })).rejects.toMatchObject({ code: "BUSY" });
    await first.close();
    await a.closedConnections(1);
    const third = await FerryClient.connect({ port: b.port }); // the slot freed on A serves B
    const numbers = [...a.events.connection, ...b.events.connection].map((event) => event.connection).sort();
    expect(numbers).toEqual([1, 2, 3]); // the refused one took none; no number twice
    await Promise.all([second.close(), third.close()]);
  });

  it("counts every worker's connections against the per-address cap", async () => {
    const { a, b } = await startWorkers({ maxClients: 10, maxClientsPerIp: 1, slotGraceMs: 0 });
    const idle = await silentSocket(a.port);
    await a.until("connection", 1);
    await expect(FerryClient.connect({ port: b.port })).rejects.toMatchObject({ code: "BUSY" });
    expect(a.events["connection-evicted"]).toEqual([]);
    idle.destroy();
  });

  it("a full server evicts a silent connection of another worker for a newcomer (protocol.md §7)", async () => {
    const { a, b } = await startWorkers({ maxClients: 1, slotGraceMs: 0 });
    const silent = await silentSocket(a.port);
    await a.until("connection", 1);
    const closed = new Promise((resolve) => silent.once("close", resolve));
    const client = await FerryClient.connect({ port: b.port });
    const body = Buffer.from("served");
    expect((await client.uploadStream([body], { name: "served.txt", size: body.length })).digest.hex).toBe(sha256(body));
    await client.close();
    await closed;
    expect(a.events["connection-evicted"]).toEqual([expect.objectContaining({ connection: 1, reason: "unproven" })]);
    expect(b.events["connection-rejected"]).toEqual([]);
  });

  it("a worker that goes away gives its slots back", async () => {
    const { primary, a, b } = await startWorkers({ maxClients: 1, slotGraceMs: 3_600_000 });
    const held = await FerryClient.connect({ port: a.port });
    await expect(FerryClient.connect({ port: b.port })).rejects.toMatchObject({ code: "BUSY" });
    await primary.detach(1); // as when worker 1's process exits
    const client = await FerryClient.connect({ port: b.port });
    await client.close();
    await held.close();
  });
});

describe("authentication across workers", () => {
  it("an address blocked on one worker is blocked on the other, even with a right token", async () => {
    const { a, b } = await startWorkers({ users: [alice()], maxAuthFailures: 2, authFailureDelayMs: 0 });
    for (let i = 0; i < 2; i++) await expect(FerryClient.connect({ port: a.port, token: "a-wrong-token-for-this-test-of-ours" })).rejects.toMatchObject({ code: "AUTH_FAILED" });
    await expect(FerryClient.connect({ port: b.port, token: TOKEN })).rejects.toMatchObject({ code: "AUTH_FAILED", message: expect.stringContaining("too many") });
    expect(b.events["request-failed"]).toEqual([]);
    expect(await b.server.stats()).toMatchObject({ blockedAddresses: 1 });
  });
});

describe("storage across workers", () => {
  it("a file stored through one worker lists with its digest through the other at once", async () => {
    const { a, b } = await startWorkers({});
    const body = Buffer.from("indexed by worker a");
    const writer = await FerryClient.connect({ port: a.port });
    await writer.uploadStream([body], { name: "shared/index.txt", size: body.length });
    await writer.close();
    const reader = await FerryClient.connect({ port: b.port });
    expect(await reader.list()).toEqual([expect.objectContaining({ name: "shared/index.txt", size: body.length, sha256: sha256(body) })]);
    await reader.close();
  });

  it("one name sent through both workers at once is stored twice under rename, never clobbered", async () => {
    const { a, b } = await startWorkers({});
    const bodies = [Buffer.alloc(70_000, 1), Buffer.alloc(70_000, 2)];
    const clients = await Promise.all([FerryClient.connect({ port: a.port }), FerryClient.connect({ port: b.port })]);
    const results = await Promise.all(clients.map((client, i) => client.uploadStream([bodies[i]!], { name: "same.bin", size: 70_000 })));
    expect(new Set(results.map((result) => result.name)).size).toBe(2);
    const listed = await clients[0]!.list();
    expect(listed.map((entry) => entry.sha256).sort()).toEqual(bodies.map(sha256).sort());
    await Promise.all(clients.map((client) => client.close()));
  });

  it("one quota for a user whichever worker serves them", async () => {
    const { a, b } = await startWorkers({ users: [alice({ dir: "alice", quotaBytes: 1_000 })] });
    const first = await FerryClient.connect({ port: a.port, token: TOKEN });
    await first.uploadStream([Buffer.alloc(600)], { name: "one.bin", size: 600 });
    const second = await FerryClient.connect({ port: b.port, token: TOKEN });
    await expect(second.uploadStream([Buffer.alloc(600)], { name: "two.bin", size: 600 })).rejects.toMatchObject({ code: "QUOTA_EXCEEDED" });
    await first.delete("one.bin");
    await second.uploadStream([Buffer.alloc(600)], { name: "two.bin", size: 600 }); // the delete through A freed it for B
    await Promise.all([first.close(), second.close()]);
  });

  it("a reload measures a quota again, whatever limit it held before", async () => {
    const { primary, a, b } = await startWorkers({ users: [alice({ dir: "alice", quotaBytes: 1_000 })] });
    const reload = async (quotaBytes: number): Promise<void> => {
      const next = { ...primary.config, users: [alice({ dir: "alice", quotaBytes })] };
      await Promise.all([a.server.reload(next), b.server.reload(next)]);
      primary.config = next;
    };
    const first = await FerryClient.connect({ port: a.port, token: TOKEN });
    await first.uploadStream([Buffer.alloc(600)], { name: "one.bin", size: 600 });
    await first.close();
    await reload(2_000);
    const second = await FerryClient.connect({ port: b.port, token: TOKEN });
    await second.uploadStream([Buffer.alloc(600)], { name: "two.bin", size: 600 });
    await second.close();
    await reload(1_000); // 1,200 bytes stored now: over the old limit
    const third = await FerryClient.connect({ port: a.port, token: TOKEN });
    await expect(third.uploadStream([Buffer.alloc(100)], { name: "three.bin", size: 100 })).rejects.toMatchObject({ code: "QUOTA_EXCEEDED" });
    await third.close();
  });

  it("holds a resumable upload on one worker: the other answers IN_PROGRESS", async () => {
    const { a, b } = await startWorkers({});
    const { peer: sender } = await WirePeer.handshake(a.port);
    sender.send({ type: "put", id: 1, name: "big.bin", size: 4 * 1024 * 1024, resume: { key: "ab".repeat(16), chunkSize: 1024 * 1024 } });
    expect(await sender.next()).toMatchObject({ type: "put_offer" });
    const { peer: other } = await WirePeer.handshake(b.port);
    other.send({ type: "put", id: 1, name: "big.bin", size: 4 * 1024 * 1024, resume: { key: "ab".repeat(16), chunkSize: 1024 * 1024 } });
    expect(await other.next()).toMatchObject({ type: "error", code: "IN_PROGRESS" });
    sender.socket.destroy();
    other.socket.destroy();
  });
});
