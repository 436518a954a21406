import { readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClientError, FerryClient } from "@ferry/client-core";
import { listDir, sha256, sha256File, startTestServer, tempDir, writeRandomFile, type TestServer } from "@ferry/server-core/testing";


let server: TestServer;
let src: Awaited<ReturnType<typeof tempDir>>;

beforeEach(async () => {
  server = await startTestServer();
  src = await tempDir("ferry-src-");
});

afterEach(async () => {
  await server.cleanup();
  await src.cleanup();
});

describe("uploads with client-core", () => {
  it("stores a 50 MiB random binary file byte-identical, verified on both ends", async () => {
    const file = path.join(src.dir, "big.bin");
    const expected = await writeRandomFile(file, 50 * 1024 * 1024);
    const client = await FerryClient.connect({ port: server.port });
    const progress: number[] = [];
    const result = await client.upload(file, { onProgress: (p) => progress.push(p.bytes) });
    await client.close();
    expect(result).toMatchObject({ name: "big.bin", size: 50 * 1024 * 1024, digest: { algorithm: "sha256", hex: expected } });
    expect(await sha256File(path.join(server.dir, "big.bin"))).toBe(expected);
    expect(progress.at(-1)).toBe(50 * 1024 * 1024);
    expect(progress.length).toBeGreaterThan(10); // streamed in chunks, not one write
    expect(await listDir(server.dir)).toEqual(["big.bin"]);
  });

  it("stores three files sent on one connection as three separate files", async () => {
    const contents = { "a.txt": "first\n", "b.bin": "\u0000\u00ff\r\n", "c.txt": "" };
    for (const [name, text] of Object.entries(contents)) await writeFile(path.join(src.dir, name), text, "latin1");
    const client = await FerryClient.connect({ port: server.port });
    // Started together: the uploads pipeline on the one connection.
    const results = await Promise.all(Object.keys(contents).map((name) => client.upload(path.join(src.dir, name))));
    await client.close();
    expect(results.map((r) => r.name)).toEqual(["a.txt", "b.bin", "c.txt"]);
    for (const [name, text] of Object.entries(contents)) {
      expect(await readFile(path.join(server.dir, name), "latin1")).toBe(text);
    }
    expect(server.events.connection).toHaveLength(1);
  });

  it("serves 20 clients at once, each file stored correctly", async () => {
    const files = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const file = path.join(src.dir, `f${i}.bin`);
        return { file, sha: await writeRandomFile(file, 256 * 1024 + i) };
      }),
    );
    const results = await Promise.all(
      files.map(async ({ file }) => {
        const client = await FerryClient.connect({ port: server.port });
        try {
          return await client.upload(file);
        } finally {
          await client.close();
        }
      }),
    );
    for (const [i, { sha }] of files.entries()) {
      expect(results[i]!.digest.hex).toBe(sha);
      expect(await sha256File(path.join(server.dir, `f${i}.bin`))).toBe(sha);
    }
  });

  it("never overwrites: a taken name becomes name (1).ext, name (2).ext", async () => {
    const file = path.join(src.dir, "report.pdf");
    const client = await FerryClient.connect({ port: server.port });
    const stored: string[] = [];
    for (const text of ["one", "two", "three"]) {
      await writeFile(file, text);
      stored.push((await client.upload(file)).name);
    }
    await client.close();
    expect(stored).toEqual(["report.pdf", "report (1).pdf", "report (2).pdf"]);
    expect(await readFile(path.join(server.dir, "report.pdf"), "utf8")).toBe("one");
    expect(await readFile(path.join(server.dir, "report (2).pdf"), "utf8")).toBe("three");
  });

  it("uploads from a stream with a name and size", async () => {
    const client = await FerryClient.connect({ port: server.port });
    const bytes = Buffer.from("streamed bytes");
    const result = await client.uploadStream([bytes.subarray(0, 5), bytes.subarray(5)], {
      name: "s.txt",
      size: bytes.length,
    });
    await client.close();
    expect(result.digest.hex).toBe(sha256(bytes));
    expect(await readFile(path.join(server.dir, "s.txt"))).toEqual(bytes);
  });

  it("refuses a hostile name with BAD_NAME before sending anything (the server side is in protocol-errors.test.ts)", async () => {
    const client = await FerryClient.connect({ port: server.port });
    await expect(client.uploadStream([Buffer.from("x")], { name: "../x", size: 1 })).rejects.toMatchObject({
      code: "BAD_NAME",
    });
    await client.close();
  });

  it("cancels an upload through an AbortSignal and keeps the connection usable", async () => {
    const client = await FerryClient.connect({ port: server.port });
    const controller = new AbortController();
    async function* slow() {
      yield Buffer.alloc(1024);
      controller.abort();
      yield Buffer.alloc(1024);
    }
    await expect(client.uploadStream(slow(), { name: "c.bin", size: 4096, signal: controller.signal })).rejects.toMatchObject({
      code: "ABORTED",
    });
    const ok = await client.uploadStream([Buffer.from("after")], { name: "after.txt", size: 5 });
    await client.close();
    await server.closedConnections(1);
    expect(ok.name).toBe("after.txt");
    expect(await listDir(server.dir)).toEqual(["after.txt"]);
    expect(server.events["upload-failed"].map((e) => e.code)).toEqual(["CANCELLED"]);
  });

  it("fails SOURCE_CHANGED when a stream yields fewer bytes than declared, storing nothing", async () => {
    const client = await FerryClient.connect({ port: server.port });
    await expect(client.uploadStream([Buffer.from("abc")], { name: "short.txt", size: 10 })).rejects.toMatchObject({
      code: "SOURCE_CHANGED",
    });
    await client.close();
    await server.closedConnections(1);
    expect(await listDir(server.dir)).toEqual([]);
  });

  it("reports CONNECT_FAILED when nothing listens", async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const error = await FerryClient.connect({ port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClientError);
    expect((error as ClientError).code).toBe("CONNECT_FAILED");
  });
});

describe("raw mode (the lab's wire format)", () => {
  async function rawSend(bytes: Buffer): Promise<void> {
    const socket = net.connect({ host: "127.0.0.1", port: server.port });
    await new Promise<void>((resolve, reject) => {
      socket.on("error", reject);
      socket.on("close", () => resolve());
      socket.end(bytes);
      socket.resume();
    });
  }

  it("stores a plain socket's bytes as output0.txt, output1.txt…", async () => {
    await rawSend(Buffer.from("hello from the lab client\n"));
    await server.closedConnections(1);
    const binary = Buffer.from([0x00, 0x89, 0x46, 0xff, 0x0a]);
    await rawSend(binary);
    await server.closedConnections(2);
    expect(await listDir(server.dir)).toEqual(["output0.txt", "output1.txt"]);
    expect(await readFile(path.join(server.dir, "output0.txt"), "utf8")).toBe("hello from the lab client\n");
    expect(await readFile(path.join(server.dir, "output1.txt"))).toEqual(binary);
    expect(server.events["upload-stored"].map((e) => e.raw)).toEqual([true, true]);
  });

  it("stores a stream that starts like the magic but diverges, byte for byte", async () => {
    const bytes = Buffer.from([0x89, 0x46, 0x45, 0x00, 0x01]);
    await rawSend(bytes);
    await server.closedConnections(1);
    expect(await readFile(path.join(server.dir, "output0.txt"))).toEqual(bytes);
  });

  it("stores nothing for a peer that connects and closes without a byte", async () => {
    const socket = net.connect({ host: "127.0.0.1", port: server.port });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.end();
    await server.closedConnections(1);
    expect(await listDir(server.dir)).toEqual([]);
    expect(server.events["upload-started"]).toEqual([]);
  });

  it("skips numbers already taken by other files", async () => {
    await writeFile(path.join(server.dir, "output0.txt"), "older");
    await rawSend(Buffer.from("new"));
    await server.closedConnections(1);
    expect(await readFile(path.join(server.dir, "output0.txt"), "utf8")).toBe("older");
    expect(await readFile(path.join(server.dir, "output1.txt"), "utf8")).toBe("new");
  });

  it("stores nothing for a raw peer that resets mid-stream", async () => {
    const socket = net.connect({ host: "127.0.0.1", port: server.port });
    socket.on("error", () => undefined);
    await new Promise<void>((r) => socket.once("connect", () => r()));
    socket.write(Buffer.alloc(64 * 1024, 0x61));
    await server.until("upload-started");
    socket.resetAndDestroy();
    await server.closedConnections(1);
    expect(await listDir(server.dir)).toEqual([]);
    expect(server.events["upload-failed"]).toHaveLength(1);
  });

  it("lets a raw upload run longer than the handshake deadline", async () => {
    const slow = await startTestServer({ handshakeTimeoutMs: 100 });
    try {
      const socket = net.connect({ host: "127.0.0.1", port: slow.port });
      socket.on("error", () => undefined);
      await new Promise<void>((r) => socket.once("connect", () => r()));
      for (const part of ["slow ", "but ", "steady\n"]) {
        socket.write(part);
        await new Promise((r) => setTimeout(r, 80)); // 240 ms in all, past the 100 ms deadline
      }
      socket.end();
      await slow.closedConnections(1);
      expect(await readFile(path.join(slow.dir, "output0.txt"), "utf8")).toBe("slow but steady\n");
    } finally {
      await slow.cleanup();
    }
  });

  it("lets a raw upload in progress finish when the server stops gracefully", async () => {
    const socket = net.connect({ host: "127.0.0.1", port: server.port });
    socket.on("error", () => undefined);
    await new Promise<void>((r) => socket.once("connect", () => r()));
    socket.write("first half, ");
    await server.until("upload-started");
    const stopped = server.server.stop({ graceMs: 2_000 });
    await new Promise((r) => setTimeout(r, 50));
    socket.end("second half");
    await stopped;
    expect(await readFile(path.join(server.dir, "output0.txt"), "utf8")).toBe("first half, second half");
  });

  it("is refused when raw mode is off", async () => {
    const strict = await startTestServer({ raw: false });
    try {
      const socket = net.connect({ host: "127.0.0.1", port: strict.port });
      socket.on("error", () => undefined);
      socket.end("plain text");
      socket.resume();
      await strict.closedConnections(1);
      expect(await listDir(strict.dir)).toEqual([]);
    } finally {
      await strict.cleanup();
    }
  });
});
