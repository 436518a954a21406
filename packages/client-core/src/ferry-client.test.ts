import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FerryClient } from "./ferry-client.js";
import { sendRaw } from "./raw-send.js";
import type { UnknownWireCode } from "@ferry/protocol";
import { startFakeServer, welcome } from "./testing/fake-server.js";
import { codeOf } from "./testing/codes.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function fake(script: Parameters<typeof startFakeServer>[0]) {
  const server = await startFakeServer(script);
  cleanups.push(() => server.close());
  return server;
}

async function tempFile(name: string, content: string | Buffer): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "ferry-client-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  await writeFile(file, content);
  return file;
}

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");


describe("FerryClient against scripted servers", () => {
  it("an abort after PUT_END waits for the server's answer: a stored file is never reported as aborted", async () => {
    const controller = new AbortController();
    const server = await fake(async (conn) => {
      await conn.nextFrame(); // HELLO
      conn.send(welcome());
      const put = await conn.nextFrame();
      const chunks: Buffer[] = [];
      for (let frame = await conn.nextFrame(); frame.kind === "data"; frame = await conn.nextFrame()) chunks.push(frame.payload);
      // PUT_END is in; the user presses Ctrl+C before the answer leaves.
      controller.abort();
      const body = Buffer.concat(chunks);
      if (put.kind === "control" && put.message.type === "put") {
        conn.send({ type: "stored", id: put.message.id, name: put.message.name, size: body.length, sha256: sha(body) });
      }
    });
    const file = await tempFile("late.bin", Buffer.alloc(5_000, 3));
    const client = await FerryClient.connect({ port: server.port });
    const result = await client.upload(file, { signal: controller.signal });
    await client.close();
    expect(controller.signal.aborted).toBe(true);
    expect(result).toMatchObject({ name: "late.bin", size: 5_000, digest: { algorithm: "sha256", hex: sha(Buffer.alloc(5_000, 3)) } });
  });

  it("sends the preamble, HELLO, PUT, DATA and PUT_END in order, then resolves with STORED", async () => {
    const seen: string[] = [];
    const server = await fake(async (conn) => {
      const hello = await conn.nextFrame();
      seen.push(hello.kind === "control" ? hello.message.type : "data");
      conn.send(welcome({ limits: { maxDataPayload: 4096, maxFileSize: 1 << 20 } }));
      const put = await conn.nextFrame();
      const chunks: Buffer[] = [];
      for (;;) {
        const frame = await conn.nextFrame();
        if (frame.kind === "data") {
          chunks.push(frame.payload);
          continue;
        }
        if (frame.message.type !== "put_end" || put.kind !== "control" || put.message.type !== "put") throw new Error("bad order");
        seen.push("put", `data×${chunks.length}`, "put_end");
        const body = Buffer.concat(chunks);
        conn.send({ type: "stored", id: put.message.id, name: put.message.name, size: body.length, sha256: sha(body) });
        return;
      }
    });
    const file = await tempFile("ten-k.bin", Buffer.alloc(10_000, 7));
    const client = await FerryClient.connect({ port: server.port });
    const result = await client.upload(file);
    await client.close();
    expect(result).toMatchObject({ name: "ten-k.bin", size: 10_000, digest: { algorithm: "sha256", hex: sha(Buffer.alloc(10_000, 7)) } });
    // 10,000 bytes in frames of at most the announced 4,096: three DATA frames.
    expect(seen).toEqual(["hello", "put", "data×3", "put_end"]);
  });

  it("surfaces a BUSY error sent instead of WELCOME", async () => {
    const server = await fake((conn) => {
      conn.send({ type: "error", code: "BUSY", message: "server busy" });
      conn.socket.end();
    });
    expect(await codeOf(FerryClient.connect({ port: server.port }))).toBe("BUSY");
  });

  it("fails PROTOCOL_ERROR when the server sends garbage", async () => {
    const server = await fake((conn) => {
      conn.socket.write(Buffer.from([0x09, 0, 0, 0, 0]));
    });
    expect(await codeOf(FerryClient.connect({ port: server.port }))).toBe("PROTOCOL_ERROR");
  });

  it("times out when the server never answers", async () => {
    const server = await fake(() => undefined);
    expect(await codeOf(FerryClient.connect({ port: server.port, connectTimeoutMs: 100 }))).toBe("TIMEOUT");
  });

  it("refuses a STORED whose SHA-256 differs from what was sent", async () => {
    const server = await fake(async (conn) => {
      await conn.nextFrame();
      conn.send(welcome());
      const put = await conn.nextFrame();
      await conn.nextFrame(); // DATA
      await conn.nextFrame(); // PUT_END
      if (put.kind === "control" && put.message.type === "put") {
        conn.send({ type: "stored", id: put.message.id, name: "x", size: 1, sha256: "0".repeat(64) });
      }
    });
    const client = await FerryClient.connect({ port: server.port });
    expect(await codeOf(client.uploadStream([Buffer.from("x")], { name: "x", size: 1 }))).toBe("CHECKSUM_MISMATCH");
    await client.close();
  });

  it("fails pending uploads with CONNECTION_CLOSED when the server vanishes", async () => {
    const server = await fake(async (conn) => {
      await conn.nextFrame();
      conn.send(welcome());
      await conn.nextFrame(); // PUT
      conn.socket.destroy();
    });
    const client = await FerryClient.connect({ port: server.port });
    const never = (async function* () {
      yield Buffer.alloc(10);
      await new Promise((r) => setTimeout(r, 200));
      yield Buffer.alloc(10);
    })();
    expect(await codeOf(client.uploadStream(never, { name: "gone.bin", size: 20 }))).toBe("CONNECTION_CLOSED");
  });

  it("carries an error code it does not know (a newer server's) as that code, and the connection goes on", async () => {
    const server = await fake(async (conn) => {
      await conn.nextFrame();
      conn.send(welcome({ capabilities: ["list"] }));
      const list = await conn.nextFrame();
      const id = list.kind === "control" && list.message.type === "list" ? list.message.id : 0;
      conn.send({ type: "error", id, code: "FROM_THE_FUTURE" as UnknownWireCode, message: "a code added after this client" });
      const again = await conn.nextFrame();
      if (again.kind === "control" && again.message.type === "list") conn.send({ type: "listing", id: again.message.id, entries: [], more: false });
    });
    const client = await FerryClient.connect({ port: server.port });
    expect(await codeOf(client.list())).toBe("FROM_THE_FUTURE");
    expect(await client.list()).toEqual([]);
    await client.close();
  });

  it("reports LOCAL_FILE_ERROR for a missing file without touching the connection", async () => {
    const server = await fake(async (conn) => {
      await conn.nextFrame();
      conn.send(welcome());
    });
    const client = await FerryClient.connect({ port: server.port });
    expect(await codeOf(client.upload("/nonexistent/definitely-not-here.txt"))).toBe("LOCAL_FILE_ERROR");
    await client.close();
  });

  it("rejects an invalid config with INVALID_CONFIG", async () => {
    expect(await codeOf(FerryClient.connect({ port: 70_000 }))).toBe("INVALID_CONFIG");
  });
});

describe("sendRaw (the lab's wire format)", () => {
  it("sends the file's bare bytes and closes", async () => {
    const received: Buffer[] = [];
    const server = net.createServer((socket) => {
      socket.on("data", (c: Buffer) => received.push(c));
      socket.on("end", () => socket.end());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    const content = Buffer.from([0x00, 0x01, 0xff, 0x0a, 0x0d]);
    const file = await tempFile("raw.bin", content);
    const result = await sendRaw(file, { port: (server.address() as AddressInfo).port });
    expect(Buffer.concat(received)).toEqual(content);
    expect(result).toEqual({ size: 5, sha256: sha(content) });
  });

  it("reports CONNECT_FAILED when nothing listens", async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const file = await tempFile("raw.txt", "x");
    expect(await codeOf(sendRaw(file, { port }))).toBe("CONNECT_FAILED");
  });
});

describe("the transfer digest (protocol.md §4.7)", () => {
  it("offers BLAKE3 in HELLO when asked, and uses what WELCOME names", async () => {
    const hellos: unknown[] = [];
    const server = await fake(async (conn) => {
      const hello = await conn.nextFrame();
      const message = hello.kind === "control" ? hello.message : null;
      hellos.push(message);
      conn.send(welcome(message?.type === "hello" && message.digests ? { digest: "blake3" } : {}));
    });
    const client = await FerryClient.connect({ port: server.port, digest: "blake3" });
    expect(client.digest).toBe("blake3");
    await client.close();
    const plain = await FerryClient.connect({ port: server.port });
    expect(plain.digest).toBe("sha256");
    await plain.close();
    expect(hellos).toEqual([expect.objectContaining({ digests: ["blake3", "sha256"] }), expect.not.objectContaining({ digests: expect.anything() })]);
  });

  it("refuses a WELCOME naming a digest the HELLO did not offer (PROTOCOL_ERROR)", async () => {
    const server = await fake(async (conn) => {
      await conn.nextFrame();
      conn.send(welcome({ digest: "blake3" }));
    });
    expect(await codeOf(FerryClient.connect({ port: server.port }))).toBe("PROTOCOL_ERROR");
  });

  it("connects again without the offer when a server older than it refuses HELLO as BAD_MESSAGE", async () => {
    let attempts = 0;
    const server = await fake(async (conn) => {
      attempts++;
      const hello = await conn.nextFrame();
      if (hello.kind === "control" && hello.message.type === "hello" && hello.message.digests) {
        conn.send({ type: "error", code: "BAD_MESSAGE", message: 'unrecognized key: "digests"' });
        conn.socket.end();
        return;
      }
      conn.send(welcome());
    });
    const client = await FerryClient.connect({ port: server.port, digest: "blake3" });
    expect(client.digest).toBe("sha256");
    expect(attempts).toBe(2);
    await client.close();
  });
});
