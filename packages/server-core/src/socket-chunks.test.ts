import { once } from "node:events";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { SocketChunks } from "./socket-chunks.js";

const open: net.Socket[] = [];
const servers: net.Server[] = [];
afterEach(() => {
  for (const socket of open.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.close();
});

/** A connected pair on 127.0.0.1: `peer` is the client, `socket` the server's side read through SocketChunks. */
async function pair(): Promise<{ peer: net.Socket; socket: net.Socket; chunks: SocketChunks }> {
  const server = net.createServer({ allowHalfOpen: true });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const accepted = once(server, "connection") as Promise<[net.Socket]>;
  const peer = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  const [socket] = await accepted;
  open.push(peer, socket);
  return { peer, socket, chunks: new SocketChunks(socket) };
}

/** Everything until FIN, as the chunks next() handed out. */
async function drain(chunks: SocketChunks): Promise<Buffer[]> {
  const all: Buffer[] = [];
  for (let r = await chunks.next(); !r.done; r = await chunks.next()) all.push(r.value);
  return all;
}

/** Resolves once SocketChunks has paused the socket (its queue is full). */
function paused(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => (socket.isPaused() ? resolve() : void setImmediate(check));
    check();
  });
}

describe("SocketChunks", () => {
  it("hands out every byte in order and ends at the peer's FIN, leaving the socket writable", async () => {
    const { peer, socket, chunks } = await pair();
    const sent = Buffer.from(Array.from({ length: 3 * 1024 * 1024 }, (_, i) => i % 251));
    peer.end(sent);
    expect(Buffer.concat(await drain(chunks)).equals(sent)).toBe(true);
    expect(socket.destroyed).toBe(false);
    expect(socket.writable).toBe(true);
    const answer = once(peer, "data");
    socket.end("answer after FIN");
    expect(String((await answer)[0])).toBe("answer after FIN");
  });

  it("never joins chunks: while nobody reads, several wait, and each comes out as it was read", async () => {
    const { peer, socket, chunks } = await pair();
    const reads: number[] = [];
    socket.on("data", (chunk: Buffer) => reads.push(chunk.length));
    peer.end(Buffer.alloc(4 * 1024 * 1024, 7));
    await paused(socket); // nobody read until the queue was full: several chunks wait
    expect(reads.length).toBeGreaterThan(1);
    const got = (await drain(chunks)).map((c) => c.length);
    expect(got).toEqual(reads);
    expect(got.reduce((a, b) => a + b, 0)).toBe(4 * 1024 * 1024);
  });

  it("pauses the socket while a full queue waits, so an unread peer is held back", async () => {
    const { peer, socket, chunks } = await pair();
    let waiting = 0;
    socket.on("data", (chunk: Buffer) => (waiting += chunk.length));
    peer.write(Buffer.alloc(8 * 1024 * 1024));
    await paused(socket);
    // Paused: what reached the queue stays below the 8 MiB sent (the rest waits in the socket and the kernel).
    expect(waiting).toBeLessThan(8 * 1024 * 1024);
    const first = await chunks.next();
    expect(first.done).toBe(false);
    peer.end();
    const rest = await drain(chunks);
    expect((first.value as Buffer).length + rest.reduce((n, c) => n + c.length, 0)).toBe(8 * 1024 * 1024);
  });

  it("rejects with the error the socket was destroyed with", async () => {
    const { socket, chunks } = await pair();
    const reason = Object.assign(new Error("our own hang-up"), { code: "IDLE_TIMEOUT" });
    socket.destroy(reason);
    await expect(chunks.next()).rejects.toBe(reason);
  });

  it("rejects when the connection closes without a FIN (a reset, or destroyed without a reason)", async () => {
    const reset = await pair();
    reset.peer.resetAndDestroy();
    await expect(reset.chunks.next()).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|ERR_STREAM_PREMATURE_CLOSE/) });
    const quiet = await pair();
    quiet.socket.destroy();
    await expect(quiet.chunks.next()).rejects.toMatchObject({ code: "ERR_STREAM_PREMATURE_CLOSE" });
  });
});
