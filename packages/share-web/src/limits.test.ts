// Abuse limits of the HTTP side (docs/security.md): per-address request rate, wrong passwords,
// visitors that read too slowly, the per-link transfer cap; each leaves the server serving others.
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { StorageRoot } from "@ferry/server-core";
import { gateResumableWrites, type Gate } from "./gated-storage.test-helper.js";
import { makeLink, startSharing, type Sharing } from "./testing.js";

const running: Sharing[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.cleanup();
});

async function sharing(...args: Parameters<typeof startSharing>): Promise<Sharing> {
  const server = await startSharing(...args);
  running.push(server);
  return server;
}

describe("HTTP limits", () => {
  it("answers 429 past the per-address request rate", async () => {
    const server = await sharing({}, { requestsPerMinute: 5 });
    await writeFile(path.join(server.dir, "a.txt"), "a");
    const link = await makeLink(server.server, { paths: ["a.txt"] });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await fetch(`${server.http.url}${link.path}/`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
  });

  it("answers 429 past a link's own request rate, from any address, while other links serve on", async () => {
    const server = await sharing({}, { requestsPerLinkPerMinute: 3 });
    await writeFile(path.join(server.dir, "a.txt"), "a");
    const busy = await makeLink(server.server, { paths: ["a.txt"] });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${server.http.url}${busy.path}/`)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const quiet = await makeLink(server.server, { paths: ["a.txt"] });
    expect((await fetch(`${server.http.url}${quiet.path}/`)).status).toBe(200);
  });

  it("blocks an address after 10 wrong passwords for a link (429), even with the right one, while other links serve on", async () => {
    const server = await sharing();
    await writeFile(path.join(server.dir, "p.txt"), "p");
    const link = await makeLink(server.server, { paths: ["p.txt"], password: "right" });
    const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`x:${password}`).toString("base64")}` });
    for (let i = 0; i < 10; i++) expect((await fetch(`${server.http.url}${link.path}/f/p.txt`, { headers: basic("wrong") })).status).toBe(401);
    expect((await fetch(`${server.http.url}${link.path}/f/p.txt`, { headers: basic("right") })).status).toBe(429);
    const other = await makeLink(server.server, { paths: ["p.txt"] });
    expect((await fetch(`${server.http.url}${other.path}/f/p.txt`)).status).toBe(200);
  });

  it("cuts a visitor that stops reading a download (the minimum data rate of the TCP side)", async () => {
    const server = await sharing({ minBytesPerSecond: 64 * 1024 * 1024, rateWindowMs: 200 });
    await writeFile(path.join(server.dir, "big.bin"), randomBytes(64 * 1024 * 1024));
    const link = await makeLink(server.server, { paths: ["big.bin"] });
    const cut = new Promise<{ bytes: number; complete: boolean }>((resolve) => server.server.once("share-downloaded", resolve));
    const socket = net.connect(server.http.port, "127.0.0.1");
    socket.write(`GET ${link.path}/f/big.bin HTTP/1.1\r\nHost: x\r\n\r\n`);
    socket.pause(); // reads nothing more: the server's writes back up
    expect(await cut).toMatchObject({ complete: false });
    socket.destroy();
    expect((await fetch(`${server.http.url}${link.path}/`)).status).toBe(200);
  });

  it("lets a link carry at most its transfer cap at once (429 beyond it)", async () => {
    // Reads past 1 MiB wait: 16 downloads stay in progress, whatever the machine's speed.
    let gate!: Gate;
    const server = await sharing({}, {}, {
      storage: async (config) => {
        const gated = gateResumableWrites(await StorageRoot.open(config.dir, { fsync: false }), Infinity, 1024 * 1024);
        gate = gated.gate;
        return gated.storage;
      },
    });
    await writeFile(path.join(server.dir, "big.bin"), randomBytes(4 * 1024 * 1024));
    const link = await makeLink(server.server, { paths: ["big.bin"] });
    const sockets: net.Socket[] = [];
    const started = [];
    for (let i = 0; i < 16; i++) {
      const socket = net.connect(server.http.port, "127.0.0.1");
      sockets.push(socket);
      started.push(new Promise((resolve) => socket.once("data", resolve)));
      socket.write(`GET ${link.path}/f/big.bin HTTP/1.1\r\nHost: x\r\n\r\n`);
    }
    await Promise.all(started);
    await gate.held(16);
    const refused = await fetch(`${server.http.url}${link.path}/f/big.bin`);
    expect(refused.status).toBe(429);
    const other = await makeLink(server.server, { paths: ["big.bin"] });
    expect((await fetch(`${server.http.url}${other.path}/`)).status).toBe(200);
    for (const socket of sockets) socket.destroy();
    gate.release();
  });
});
