/**
 * The hostile-input table of docs/security.md, rows not already covered next to the feature they
 * attack (protocol-errors, limits, auth, resume, tls tests). Every case ends by proving the server
 * still serves a normal client, and the file ends by proving no descriptor was leaked.
 */
import { readdirSync } from "node:fs";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FerryClient } from "@ferry/client-core";
import { encodeControl, encodePreamble, FRAME_TYPES, PROTOCOL_VERSION, type Message } from "@ferry/protocol";
import { listDir, sha256, startTestServer, waitFor, WirePeer, type TestServer } from "@ferry/server-core/testing";

let server: TestServer;
let descriptorsBefore: number;
const openDescriptors = () => readdirSync("/proc/self/fd").length;

beforeAll(async () => {
  // Short deadlines so stalls are judged in test time; raw off so junk is not stored as output<N>.txt.
  server = await startTestServer({ raw: false, handshakeTimeoutMs: 400, idleTimeoutMs: 800, rateWindowMs: 300, minBytesPerSecond: 1_000 });
  descriptorsBefore = openDescriptors();
});
afterAll(async () => {
  await server.cleanup();
});

/**
 * Cases that must succeed in full (not stalls waiting for a deadline) run on a server with the
 * default deadlines: the short ones above are a speed expectation for everything but a stall.
 */
async function roomyServer(config: { handshakeTimeoutMs?: number } = {}): Promise<TestServer> {
  return startTestServer({ raw: false, ...config });
}

let canaries = 0;
/** After whatever a case did, a normal client must still be served. */
async function expectStillServing(port = server.port): Promise<void> {
  const client = await FerryClient.connect({ port });
  const body = Buffer.from(`canary ${++canaries}`);
  const stored = await client.uploadStream([body], { name: `canary-${canaries}.txt`, size: body.length });
  await client.close();
  expect(stored.digest.hex).toBe(sha256(body));
}

function errorCode(message: Message): string {
  expect(message.type).toBe("error");
  return message.type === "error" ? message.code : "";
}

/** A CONTROL frame around raw JSON bytes (so the JSON can be anything, even invalid UTF-8). */
function control(json: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header[0] = FRAME_TYPES.CONTROL;
  header.writeUInt32BE(json.length, 1);
  return Buffer.concat([header, json]);
}

describe("names", () => {
  it.each([
    ["backslashes", "a\\b\\c.txt"],
    ["CON", "CON"],
    ["COM1", "COM1"],
    ["trailing space", "report.txt "],
    ["NFD twin of an NFC name", "cafe\u0301.txt"],
  ])("%s → BAD_NAME, nothing stored", async (_row, name) => {
    const { peer } = await WirePeer.handshake(server.port);
    peer.send({ type: "put", id: 1, name, size: 1 });
    peer.data(Buffer.from("!"));
    peer.send({ type: "put_end", id: 1, sha256: sha256(Buffer.from("!")) });
    expect(errorCode(await peer.next())).toBe("BAD_NAME");
    peer.socket.end();
    await peer.closed;
    expect((await listDir(server.dir)).filter((n) => !n.startsWith("canary"))).toEqual([]);
    await expectStillServing();
  });

  it("invalid UTF-8 in a name → BAD_MESSAGE, connection closed", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    const json = Buffer.concat([Buffer.from('{"type":"put","id":1,"name":"a'), Buffer.from([0xc3, 0x28]), Buffer.from('","size":1}')]);
    peer.write(control(json));
    expect(errorCode(await peer.next())).toBe("BAD_MESSAGE");
    await peer.closed;
    await expectStillServing();
  });

  it("NFC/NFD twins: the NFC name is stored, its twin cannot be", async () => {
    const client = await FerryClient.connect({ port: server.port });
    const body = Buffer.from("café");
    expect((await client.uploadStream([body], { name: "caf\u00e9.txt", size: body.length })).name).toBe("caf\u00e9.txt");
    const twin = await client.uploadStream([body], { name: "cafe\u0301.txt", size: body.length }).catch((e: { code: string }) => e.code);
    expect(twin).toBe("BAD_NAME");
    await client.close();
  });
});

describe("frames", () => {
  it("truncated then EOF: the connection ends, nothing is stored", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    peer.send({ type: "put", id: 1, name: "cut.bin", size: 100 });
    peer.write(Buffer.from([FRAME_TYPES.DATA, 0, 0, 0, 100, 1, 2, 3]));
    peer.socket.end();
    await peer.closed;
    await server.closedConnections(server.events["connection-closed"].length);
    expect(await listDir(server.dir)).not.toContain("cut.bin");
    await expectStillServing();
  });

  it("truncated then stall: cut by the minimum rate (TOO_SLOW) or the idle timeout", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    peer.write(Buffer.from([FRAME_TYPES.CONTROL, 0, 0, 0, 50, 0x7b]));
    expect(["TOO_SLOW", "TIMEOUT"]).toContain(errorCode(await peer.next()));
    await peer.closed;
    await expectStillServing();
  });

  it("wrong magic with raw off: closed without a byte stored", async () => {
    const before = await listDir(server.dir);
    const socket = net.connect({ host: "127.0.0.1", port: server.port });
    socket.on("error", () => undefined);
    socket.write("GET / HTTP/1.1\r\nHost: ferry\r\n\r\n");
    await new Promise((resolve) => socket.on("close", resolve));
    expect(await listDir(server.dir)).toEqual(before);
    await expectStillServing();
  });

  it.each([
    ["extra keys", '{"type":"put","id":1,"name":"a","size":1,"admin":true}'],
    ["negative size", '{"type":"put","id":1,"name":"a","size":-1}'],
    ["fractional size", '{"type":"put","id":1,"name":"a","size":1.5}'],
    ["size beyond 2^53", '{"type":"put","id":1,"name":"a","size":9007199254740993}'],
    ["unknown message type", '{"type":"format_disk"}'],
    ["not JSON", "{put a}"],
  ])("schema-invalid JSON (%s) → BAD_MESSAGE", async (_row, json) => {
    const { peer } = await WirePeer.handshake(server.port);
    peer.write(control(Buffer.from(json)));
    expect(errorCode(await peer.next())).toBe("BAD_MESSAGE");
    await peer.closed;
    await expectStillServing();
  });

  it("a million 1-byte DATA frames: stored correctly, and the server goes on serving", async () => {
    const roomy = await roomyServer();
    const { peer } = await WirePeer.handshake(roomy.port);
    const count = 1_000_000;
    peer.send({ type: "put", id: 1, name: "million.bin", size: count });
    // 6 MB of frames, written in 60 KiB batches so the test itself does not queue 2 M buffers.
    const frame = Buffer.from([FRAME_TYPES.DATA, 0, 0, 0, 1, 0x61]);
    const batch = Buffer.concat(Array.from({ length: 10_000 }, () => frame));
    for (let sent = 0; sent < count; sent += 10_000) {
      if (peer.socket.destroyed) break; // the server hung up: next() below says why
      if (!peer.socket.write(batch)) await Promise.race([new Promise((resolve) => peer.socket.once("drain", resolve)), peer.closed]);
    }
    peer.send({ type: "put_end", id: 1, sha256: sha256(Buffer.alloc(count, 0x61)) });
    expect(await peer.next()).toMatchObject({ type: "stored", name: "million.bin", size: count });
    peer.socket.end();
    await expectStillServing(roomy.port);
    await roomy.cleanup();
  });
});

describe("transfers", () => {
  it("resume at a wrong offset → UNEXPECTED_MESSAGE, the partial is not corrupted", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    peer.send({ type: "put", id: 1, name: "r.bin", size: 2 * 1024 * 1024, resume: { key: "cd".repeat(16), chunkSize: 1024 * 1024 } });
    expect(await peer.next()).toMatchObject({ type: "put_offer", offset: 0 });
    peer.send({ type: "put_from", id: 1, offset: 4096 });
    expect(errorCode(await peer.next())).toBe("UNEXPECTED_MESSAGE");
    await peer.closed;
    await expectStillServing();
  });
});

describe("load", () => {
  it("a peer sending 1 byte per 100 ms in the handshake is cut at the handshake deadline", async () => {
    const peer = await WirePeer.connect(server.port);
    peer.write(encodePreamble()); // known as Ferry, so it is told why
    const hello = Buffer.concat(encodeControl({ type: "hello", version: PROTOCOL_VERSION, agent: "slow" }));
    let at = 0;
    const trickle = setInterval(() => at < hello.length && peer.write(hello.subarray(at, ++at)), 100);
    try {
      expect(errorCode(await peer.next())).toBe("TIMEOUT");
      await peer.closed;
    } finally {
      clearInterval(trickle);
    }
    expect(at).toBeLessThan(hello.length);
    await expectStillServing();
  });

  it("500 connections opened at once while a real upload runs: the upload completes, the rest get BUSY or served", async () => {
    const body = Buffer.alloc(16 * 1024 * 1024, 5);
    // Served storm sockets hold a slot until the handshake deadline: 1 s here, so the test is short.
    const roomy = await roomyServer({ handshakeTimeoutMs: 1_000 });
    const client = await FerryClient.connect({ port: roomy.port });
    const upload = client.uploadStream(
      (function* () {
        for (let at = 0; at < body.length; at += 1024 * 1024) yield body.subarray(at, at + 1024 * 1024);
      })(),
      { name: "during-storm.bin", size: body.length },
    );
    const storm = await Promise.all(
      Array.from(
        { length: 500 },
        () =>
          new Promise<string>((resolve) => {
            const socket = net.connect({ host: "127.0.0.1", port: roomy.port });
            let heard = "";
            socket.on("data", (chunk: Buffer) => (heard += chunk.toString("latin1")));
            socket.on("error", () => resolve("reset"));
            socket.on("close", () => resolve(heard.includes("BUSY") ? "busy" : "closed"));
            // Say nothing: each served one holds a slot until the handshake deadline.
          }),
      ),
    );
    expect((await upload).digest.hex).toBe(sha256(body));
    await client.close();
    expect(storm.filter((outcome) => outcome === "busy").length).toBeGreaterThan(0); // over maxClientsPerIp (32)
    await expectStillServing(roomy.port);
    await roomy.cleanup();
  });
});

describe("resources", () => {
  it("leaks no descriptor after every case above", async () => {
    await waitFor(() => server.server.activeConnections === 0);
    // Rejected sockets linger up to LINGER_MS; a leak never comes back down, so the hang detector catches it.
    await waitFor(() => openDescriptors() <= descriptorsBefore + 4, 100);
    expect(openDescriptors()).toBeLessThanOrEqual(descriptorsBefore + 4);
  });
});

describe("long paths", () => {
  it("the longest paths: 3,764 bytes are stored; 4,095 overflow the OS limit behind the root → BAD_NAME", async () => {
    const roomy = await roomyServer();
    try {
      const { peer: ok } = await WirePeer.handshake(roomy.port);
      const name = Array.from({ length: 15 }, (_, i) => `${i}`.padEnd(250, "x")).join("/"); // 3,764 bytes
      ok.send({ type: "put", id: 1, name, size: 0 });
      ok.send({ type: "put_end", id: 1, sha256: sha256(Buffer.alloc(0)) });
      expect(await ok.next()).toMatchObject({ type: "stored", name });
      // The protocol's longest path (4,095 bytes) overflows the OS limit behind the root's path:
      // a clear BAD_NAME, not a storage error.
      const longest = Array.from({ length: 16 }, (_, i) => `${i}`.padEnd(255, "x")).join("/");
      ok.send({ type: "put", id: 2, name: longest, size: 0 });
      ok.send({ type: "put_end", id: 2, sha256: sha256(Buffer.alloc(0)) });
      const refused = await ok.next();
      expect(refused).toMatchObject({ type: "error", id: 2, code: "BAD_NAME" });
      ok.socket.end();
    } finally {
      await roomy.cleanup();
    }
  });
});
