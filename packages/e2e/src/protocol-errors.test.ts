import net from "node:net";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FerryClient } from "@ferry/client-core";
import { encodePreamble, PROTOCOL_VERSION, type Message } from "@ferry/protocol";
import { listDir, sha256, startTestServer, WirePeer, type TestServer } from "@ferry/server-core/testing";

let server: TestServer;

beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.cleanup();
});

/** After whatever a test did, a normal client must still be served. */
async function expectStillServing(): Promise<void> {
  const client = await FerryClient.connect({ port: server.port });
  const result = await client.uploadStream([Buffer.from("still here")], { name: "canary.txt", size: 10 });
  await client.close();
  expect(result.name).toMatch(/^canary/);
}

function errorCode(message: Message): string {
  expect(message.type).toBe("error");
  return message.type === "error" ? message.code : "";
}

describe("handshake", () => {
  it("welcomes a v1 client with limits and capabilities", async () => {
    const { peer, welcome } = await WirePeer.handshake(server.port);
    expect(welcome).toMatchObject({
      type: "welcome",
      version: 1,
      limits: { maxDataPayload: server.server.config.maxDataPayload, maxFileSize: server.server.config.maxFileSize },
      capabilities: ["upload", "download", "list", "delete", "conflict", "resume", "folders", "batch", "unchanged", "empty-folders"],
    });
    peer.socket.end();
  });

  it("refuses an unknown protocol version with UNSUPPORTED_VERSION", async () => {
    const peer = await WirePeer.connect(server.port);
    peer.write(encodePreamble(2));
    expect(errorCode(await peer.next())).toBe("UNSUPPORTED_VERSION");
    await peer.closed;
    await expectStillServing();
  });

  it("times out a peer that sends nothing", async () => {
    const quick = await startTestServer({ handshakeTimeoutMs: 100 });
    try {
      const peer = await WirePeer.connect(quick.port);
      await peer.closed;
      await quick.closedConnections(1);
      expect(await listDir(quick.dir)).toEqual([]);
    } finally {
      await quick.cleanup();
    }
  });

  it("tells a Ferry peer that stalls mid-handshake TIMEOUT", async () => {
    const quick = await startTestServer({ handshakeTimeoutMs: 100 });
    try {
      const peer = await WirePeer.connect(quick.port);
      peer.write(encodePreamble());
      expect(errorCode(await peer.next())).toBe("TIMEOUT");
      await peer.closed;
    } finally {
      await quick.cleanup();
    }
  });
});

describe("slow and vanishing peers", () => {
  it("times out a peer that stalls mid-upload, tells it TIMEOUT, and removes the partial file", async () => {
    const quick = await startTestServer({ idleTimeoutMs: 150 });
    try {
      const { peer } = await WirePeer.handshake(quick.port);
      peer.send({ type: "put", id: 1, name: "stalled.bin", size: 1000 });
      peer.data(Buffer.alloc(10));
      expect(errorCode(await peer.next())).toBe("TIMEOUT");
      await peer.closed;
      await quick.closedConnections(1);
      expect(await listDir(quick.dir)).toEqual([]);
      expect(quick.events["upload-failed"]).toEqual([expect.objectContaining({ name: "stalled.bin", code: "TIMEOUT" })]);
    } finally {
      await quick.cleanup();
    }
  });

  it("keeps serving others while one peer stalls", async () => {
    const { peer: staller } = await WirePeer.handshake(server.port);
    staller.send({ type: "put", id: 1, name: "slow.bin", size: 1000 });
    staller.data(Buffer.alloc(10));
    await expectStillServing();
    staller.socket.destroy();
  });
});

describe("log order", () => {
  it("requests before a bad frame in the same segment are served, and the fatal error is logged after their answers", async () => {
    const order: string[] = [];
    server.server.on("upload-stored", () => order.push("upload-stored"));
    server.server.on("connection-error", () => order.push("connection-error"));
    const { peer } = await WirePeer.handshake(server.port);
    const body = Buffer.from("before the error");
    // One segment: before, the decoder's error dropped the PUT it had already decoded with it.
    peer.socket.cork();
    peer.send({ type: "put", id: 1, name: "first.txt", size: body.length });
    peer.data(body);
    peer.send({ type: "put_end", id: 1, sha256: sha256(body) });
    peer.write(Buffer.from([0x07, 0, 0, 0, 0])); // an unknown frame type: fatal
    peer.socket.uncork();
    expect(await peer.next()).toMatchObject({ type: "stored", id: 1 });
    expect(await peer.next()).toMatchObject({ type: "error", code: "UNKNOWN_FRAME_TYPE" });
    await server.until("connection-error", 1);
    expect(order).toEqual(["upload-stored", "connection-error"]);
  });
});

describe("max clients", () => {
  it("gives the client beyond max-clients a BUSY error instead of a hang", async () => {
    // slotGraceMs: an hour, so that no slot is ever taken over, however slow this machine is.
    const small = await startTestServer({ maxClients: 2, slotGraceMs: 3_600_000 });
    try {
      const a = await FerryClient.connect({ port: small.port });
      const b = await FerryClient.connect({ port: small.port });
      await expect(FerryClient.connect({ port: small.port })).rejects.toMatchObject({ code: "BUSY" });
      await a.close();
      await small.closedConnections(1);
      const c = await FerryClient.connect({ port: small.port }); // a slot is free again
      await c.close();
      await b.close();
      expect(small.events["connection-rejected"]).toEqual([expect.objectContaining({ code: "BUSY" })]);
    } finally {
      await small.cleanup();
    }
  });
});

describe("slots are not free to hold (protocol.md §7)", () => {
  /** A TCP connection that never sends a byte. */
  async function silentSocket(port: number, localAddress = "127.0.0.1"): Promise<net.Socket> {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    socket.on("error", () => undefined);
    await new Promise((resolve) => socket.once("connect", resolve));
    return socket;
  }
  const closed = (socket: net.Socket) => new Promise((resolve) => (socket.destroyed ? resolve(undefined) : socket.once("close", resolve)));

  it("64 silent connections from 2 addresses: a new client takes the oldest one's slot and is served", async () => {
    // slotGraceMs 0: every silent connection is already past its grace; the rule, not the clock, is tested.
    const full = await startTestServer({ maxClients: 64, maxClientsPerIp: 32, slotGraceMs: 0 });
    try {
      const silent: net.Socket[] = [];
      for (let i = 0; i < 64; i++) silent.push(await silentSocket(full.port, i < 32 ? "127.0.0.2" : "127.0.0.3"));
      await full.until("connection", 64);
      const client = await FerryClient.connect({ port: full.port });
      const body = Buffer.from("served");
      expect((await client.uploadStream([body], { name: "served.txt", size: body.length })).digest.hex).toBe(sha256(body));
      await client.close();
      expect(full.events["connection-rejected"]).toEqual([]);
      expect(full.events["connection-evicted"]).toEqual([expect.objectContaining({ connection: 1, reason: "unproven" })]);
      await closed(silent[0]!); // the oldest went
      for (const socket of silent) socket.destroy();
    } finally {
      await full.cleanup();
    }
  });

  it("prefers a connection that never proved itself over an idle authenticated one; the evicted peer is told TIMEOUT", async () => {
    const full = await startTestServer({ maxClients: 2, slotGraceMs: 0, users: [{ name: "ann", tokenSha256: sha256(Buffer.from("t".repeat(32))), permissions: ["read", "write"] }] });
    try {
      const { peer: idle } = await WirePeer.handshake(full.port, { token: "t".repeat(32) });
      idle.send({ type: "list", id: 1 });
      expect(await idle.next()).toMatchObject({ type: "listing" });
      const unauthenticated = await WirePeer.connect(full.port);
      await full.until("connection", 2);
      const client = await FerryClient.connect({ port: full.port, token: "t".repeat(32) });
      await unauthenticated.closed;
      expect(full.events["connection-evicted"]).toEqual([expect.objectContaining({ connection: 2, reason: "unproven" })]);
      // The next newcomer takes the idle one's slot, and the idle peer hears why.
      const second = await FerryClient.connect({ port: full.port, token: "t".repeat(32) });
      expect(await idle.next()).toMatchObject({ type: "error", code: "TIMEOUT", message: expect.stringContaining("make room") });
      await Promise.all([client.close(), second.close()]);
    } finally {
      await full.cleanup();
    }
  });

  it("a connection in the middle of an upload keeps its slot: the newcomer gets BUSY", async () => {
    const full = await startTestServer({ maxClients: 1, slotGraceMs: 0 });
    try {
      const { peer: busy } = await WirePeer.handshake(full.port);
      busy.send({ type: "put", id: 1, name: "in-progress.bin", size: 10 });
      busy.data(Buffer.from("12345"));
      await full.until("upload-started", 1);
      await expect(FerryClient.connect({ port: full.port })).rejects.toMatchObject({ code: "BUSY" });
      busy.data(Buffer.from("67890"));
      busy.send({ type: "put_end", id: 1, sha256: sha256(Buffer.from("1234567890")) });
      expect(await busy.next()).toMatchObject({ type: "stored" });
      busy.socket.end();
    } finally {
      await full.cleanup();
    }
  });

  it("the per-address cap still answers BUSY, idle connections or not", async () => {
    const capped = await startTestServer({ maxClients: 10, maxClientsPerIp: 1, slotGraceMs: 0 });
    try {
      const idle = await silentSocket(capped.port);
      await capped.until("connection", 1);
      await expect(FerryClient.connect({ port: capped.port })).rejects.toMatchObject({ code: "BUSY" });
      expect(capped.events["connection-evicted"]).toEqual([]);
      idle.destroy();
    } finally {
      await capped.cleanup();
    }
  });
});

describe("per-IP and per-connection limits", () => {
  it("gives the connection beyond max-clients-per-IP a BUSY error while other slots stay free", async () => {
    const capped = await startTestServer({ maxClients: 10, maxClientsPerIp: 2, slotGraceMs: 3_600_000 });
    try {
      const a = await FerryClient.connect({ port: capped.port });
      const b = await FerryClient.connect({ port: capped.port });
      const error = await FerryClient.connect({ port: capped.port }).catch((e: unknown) => e);
      expect((error as { code: string; message: string }).code).toBe("BUSY");
      expect((error as { message: string }).message).toContain("from 127.0.0.1");
      await a.close();
      await capped.closedConnections(1);
      const c = await FerryClient.connect({ port: capped.port }); // the IP's slot is free again
      await c.close();
      await b.close();
    } finally {
      await capped.cleanup();
    }
  });

  it("refuses uploads beyond max-files-per-connection with TOO_MANY_FILES, keeping the connection", async () => {
    const capped = await startTestServer({ maxFilesPerConnection: 2 });
    try {
      const client = await FerryClient.connect({ port: capped.port });
      const put = (name: string) => client.uploadStream([Buffer.from(name)], { name, size: name.length });
      await put("one");
      await put("two");
      const error = await put("three").catch((e: unknown) => e);
      expect((error as { code: string }).code).toBe("TOO_MANY_FILES");
      expect((await client.list()).map((e) => e.name)).toEqual(["one", "two"]);
      await client.close();
    } finally {
      await capped.cleanup();
    }
  });
});

describe("malformed and out-of-order frames close only that connection", () => {
  const cases: { name: string; bytes: () => Buffer[]; code: string }[] = [
    { name: "unknown frame type", bytes: () => [Buffer.from([0x07, 0, 0, 0, 0])], code: "UNKNOWN_FRAME_TYPE" },
    { name: "length 2^32-1", bytes: () => [Buffer.from([0x02, 0xff, 0xff, 0xff, 0xff])], code: "FRAME_TOO_LARGE" },
    { name: "zero-length control", bytes: () => [Buffer.from([0x01, 0, 0, 0, 0])], code: "BAD_MESSAGE" },
    {
      name: "schema-invalid JSON (negative size)",
      bytes: () => {
        const json = Buffer.from('{"type":"put","id":1,"name":"a","size":-5}');
        const header = Buffer.from([0x01, 0, 0, 0, json.length]);
        return [header, json];
      },
      code: "BAD_MESSAGE",
    },
    { name: "DATA before any upload", bytes: () => [Buffer.from([0x02, 0, 0, 0, 1, 0x41])], code: "UNEXPECTED_MESSAGE" },
  ];

  it.each(cases)("$name → $code", async ({ bytes, code }) => {
    const { peer } = await WirePeer.handshake(server.port);
    for (const b of bytes()) peer.write(b);
    expect(errorCode(await peer.next())).toBe(code);
    await peer.closed;
    await expectStillServing();
  });

  it("a second HELLO is UNEXPECTED_MESSAGE", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    peer.send({ type: "hello", version: PROTOCOL_VERSION, agent: "again" });
    expect(errorCode(await peer.next())).toBe("UNEXPECTED_MESSAGE");
    await peer.closed;
  });

  it("a second PUT_END is UNEXPECTED_MESSAGE", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    const body = Buffer.from("x");
    peer.send({ type: "put", id: 1, name: "x.txt", size: 1 });
    peer.data(body);
    peer.send({ type: "put_end", id: 1, sha256: sha256(body) });
    expect(await peer.next()).toMatchObject({ type: "stored", id: 1 });
    peer.send({ type: "put_end", id: 1, sha256: sha256(body) });
    expect(errorCode(await peer.next())).toBe("UNEXPECTED_MESSAGE");
    await peer.closed;
  });
});

describe("transfers that lie", () => {
  it("rejects bytes that do not match the declared SHA-256 and publishes nothing", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    peer.send({ type: "put", id: 9, name: "liar.bin", size: 4 });
    peer.data(Buffer.from("abcd"));
    peer.send({ type: "put_end", id: 9, sha256: sha256(Buffer.from("abce")) });
    expect(await peer.next()).toMatchObject({ type: "error", id: 9, code: "CHECKSUM_MISMATCH" });
    // The connection stays usable for the next upload.
    peer.send({ type: "put", id: 10, name: "honest.bin", size: 4 });
    peer.data(Buffer.from("abcd"));
    peer.send({ type: "put_end", id: 10, sha256: sha256(Buffer.from("abcd")) });
    expect(await peer.next()).toMatchObject({ type: "stored", id: 10, name: "honest.bin" });
    peer.socket.end();
    await server.closedConnections(1);
    expect(await listDir(server.dir)).toEqual(["honest.bin"]);
  });

  it("rejects more bytes than declared with SIZE_MISMATCH", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    peer.send({ type: "put", id: 1, name: "big.bin", size: 2 });
    peer.data(Buffer.from("abc"));
    expect(await peer.next()).toMatchObject({ type: "error", id: 1, code: "SIZE_MISMATCH" });
    peer.send({ type: "put_end", id: 1, sha256: sha256(Buffer.from("abc")) }); // back to idle
    peer.socket.end();
    await server.closedConnections(1);
    expect(await listDir(server.dir)).toEqual([]);
  });

  it("rejects fewer bytes then PUT_END with SIZE_MISMATCH", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    peer.send({ type: "put", id: 1, name: "short.bin", size: 10 });
    peer.data(Buffer.from("abc"));
    peer.send({ type: "put_end", id: 1, sha256: sha256(Buffer.from("abc")) });
    expect(await peer.next()).toMatchObject({ type: "error", id: 1, code: "SIZE_MISMATCH" });
    peer.socket.end();
    await server.closedConnections(1);
    expect(await listDir(server.dir)).toEqual([]);
  });

  it("refuses a file above maxFileSize before any byte is stored", async () => {
    const capped = await startTestServer({ maxFileSize: 100 });
    try {
      const { peer } = await WirePeer.handshake(capped.port);
      peer.send({ type: "put", id: 1, name: "huge.bin", size: 101 });
      expect(await peer.next()).toMatchObject({ type: "error", id: 1, code: "FILE_TOO_LARGE" });
      peer.socket.end();
      await capped.closedConnections(1);
      expect(await listDir(capped.dir)).toEqual([]);
    } finally {
      await capped.cleanup();
    }
  });

  it("leaves no file and no temp behind when the client dies mid-upload", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    peer.send({ type: "put", id: 1, name: "half.bin", size: 10 * 1024 * 1024 });
    peer.data(Buffer.alloc(512 * 1024, 1));
    await new Promise((r) => setTimeout(r, 50));
    peer.socket.resetAndDestroy();
    await server.closedConnections(1);
    expect(await listDir(server.dir)).toEqual([]);
    expect(server.events["upload-failed"]).toEqual([expect.objectContaining({ name: "half.bin", code: "CONNECTION_LOST" })]);
    await expectStillServing();
  });
});

describe("hostile names never escape the storage dir", () => {
  const names = [
    "../escape.txt",
    "a/../../b",
    "/etc/passwd",
    "C:\\x",
    "\\\\srv\\x",
    "..",
    ".",
    "",
    "a\u0000b",
    "\u001b[2Jclear",
    "evil\u202etxt.exe",
    "NUL.txt",
    "trailing.",
    "x".repeat(256),
    ".ferry-tmp-planted",
  ];

  it.each(names)("%j → BAD_NAME", async (name) => {
    const { peer } = await WirePeer.handshake(server.port);
    peer.send({ type: "put", id: 3, name, size: 1 });
    peer.data(Buffer.from("!"));
    peer.send({ type: "put_end", id: 3, sha256: sha256(Buffer.from("!")) });
    expect(await peer.next()).toMatchObject({ type: "error", id: 3, code: "BAD_NAME" });
    peer.socket.end();
    await server.closedConnections(1);
    expect(await listDir(server.dir)).toEqual([]);
    expect(await listDir(path.dirname(server.dir))).not.toContain("escape.txt");
  });
});

describe("lifecycle", () => {
  it("sweeps temp files left by a crash when it starts", async () => {
    const { writeFile } = await import("node:fs/promises");
    await writeFile(path.join(server.dir, ".ferry-tmp-deadbeef"), "leftover");
    await writeFile(path.join(server.dir, "keep.txt"), "mine");
    await server.server.stop();
    const again = await startTestServer({ dir: server.dir });
    try {
      expect(await listDir(server.dir)).toEqual(["keep.txt"]);
    } finally {
      await again.server.stop();
    }
  });

  it("stop() lets an upload in progress finish, closes idle clients with SHUTTING_DOWN", async () => {
    const { peer: idle } = await WirePeer.handshake(server.port);
    const { peer: busy } = await WirePeer.handshake(server.port);
    busy.send({ type: "put", id: 1, name: "late.txt", size: 4 });
    busy.data(Buffer.from("ab"));
    await server.until("upload-started");
    const stopped = server.server.stop({ graceMs: 5_000 });
    expect(errorCode(await idle.next())).toBe("SHUTTING_DOWN");
    busy.data(Buffer.from("cd"));
    busy.send({ type: "put_end", id: 1, sha256: sha256(Buffer.from("abcd")) });
    expect(await busy.next()).toMatchObject({ type: "stored", name: "late.txt" });
    expect(errorCode(await busy.next())).toBe("SHUTTING_DOWN");
    await stopped;
    expect(await listDir(server.dir)).toEqual(["late.txt"]);
  });

  it("stop() cuts an upload that outlives the grace period and leaves no temp", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    peer.send({ type: "put", id: 1, name: "never.txt", size: 100 });
    peer.data(Buffer.from("ab"));
    await server.until("upload-started");
    await server.server.stop({ graceMs: 100 });
    await peer.closed;
    expect(await listDir(server.dir)).toEqual([]);
  });
});
