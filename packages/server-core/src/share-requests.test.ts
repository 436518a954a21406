import { writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { hashToken } from "./auth.js";
import { shareKey } from "./share-links.js";
import { startTestServer, WirePeer } from "./testing/index.js";

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const servers: TestServer[] = [];
const peers: WirePeer[] = [];
afterEach(async () => {
  for (const peer of peers.splice(0)) peer.socket.destroy();
  for (const server of servers.splice(0)) await server.cleanup();
});

async function sharingServer(config: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const server = await startTestServer(config);
  servers.push(server);
  await mkdir(path.join(server.dir, "docs"));
  await writeFile(path.join(server.dir, "docs", "a.txt"), "a");
  await writeFile(path.join(server.dir, "b.txt"), "b");
  await server.server.enableSharing((local) => `https://${local}:8443`);
  return server;
}

async function peer(port: number, token?: string): Promise<{ peer: WirePeer; capabilities: string[] }> {
  const { peer, welcome } = await WirePeer.handshake(port, token ? { token } : {});
  peers.push(peer);
  return { peer, capabilities: welcome.type === "welcome" ? welcome.capabilities : [] };
}

describe("SHARE, SHARE_LIST, SHARE_REVOKE (protocol.md §4.6)", () => {
  it("makes a link with a URL on the address the peer reached, stores only the secret's hash, lists and revokes it", async () => {
    const server = await sharingServer();
    const { peer: wire, capabilities } = await peer(server.port);
    expect(capabilities).toContain("share");
    wire.send({ type: "share", id: 1, kind: "download", paths: ["docs", "b.txt"], expiresIn: 3600, maxDownloads: 2, password: "pw" });
    const shared = await wire.next();
    if (shared.type !== "shared") throw new Error(`expected shared, got ${JSON.stringify(shared)}`);
    expect(shared.url).toBe(`https://127.0.0.1:8443/s/${shared.secret}`);
    expect(Buffer.from(shared.secret, "base64url")).toHaveLength(24);
    expect(shared.link).toMatchObject({ kind: "download", paths: ["docs/", "b.txt"], maxDownloads: 2, downloads: 0, password: true });
    expect(shared.link.expiresAt - shared.link.createdAt).toBe(3_600_000);
    const stored = await server.server.shares!.get(shareKey(shared.secret));
    expect(stored?.password).toMatch(/^scrypt\$/);
    expect(JSON.stringify(stored)).not.toContain(shared.secret);

    wire.send({ type: "share_list", id: 2 });
    expect(await wire.next()).toEqual({ type: "shares", id: 2, links: [shared.link], more: false });
    wire.send({ type: "share_revoke", id: 3, link: shared.secret });
    expect(await wire.next()).toEqual({ type: "share_revoked", id: 3, fingerprint: shared.link.fingerprint });
    wire.send({ type: "share_revoke", id: 4, link: shared.link.fingerprint });
    expect(await wire.next()).toMatchObject({ type: "error", id: 4, code: "NOT_FOUND" });
    wire.send({ type: "share_list", id: 5 });
    expect(await wire.next()).toEqual({ type: "shares", id: 5, links: [], more: false });
  });

  it("refuses a missing path (NOT_FOUND), a hostile one (BAD_NAME) and a two-folder upload link, and goes on serving", async () => {
    const server = await sharingServer();
    const { peer: wire } = await peer(server.port);
    wire.send({ type: "share", id: 1, kind: "download", paths: ["nope.txt"], expiresIn: 60 });
    expect(await wire.next()).toMatchObject({ type: "error", id: 1, code: "NOT_FOUND" });
    wire.send({ type: "share", id: 2, kind: "download", paths: ["../etc/passwd"], expiresIn: 60 });
    expect(await wire.next()).toMatchObject({ type: "error", id: 2, code: "BAD_NAME" });
    wire.send({ type: "share", id: 3, kind: "upload", paths: ["a/", "b/"], expiresIn: 60 });
    expect(await wire.next()).toMatchObject({ type: "error", id: 3, code: "BAD_NAME" });
    wire.send({ type: "share", id: 4, kind: "upload", paths: ["inbox"], expiresIn: 60, maxFiles: 3 });
    expect(await wire.next()).toMatchObject({ type: "shared", id: 4, link: { kind: "upload", paths: ["inbox/"], maxFiles: 3 } });
  });

  it("needs read for a download link and write for an upload link; a user sees and revokes only their own links", async () => {
    const reader = "reader-token-0123456789";
    const writer = "writer-token-0123456789";
    const server = await sharingServer({
      users: [
        { name: "reader", tokenSha256: hashToken(reader), permissions: ["read"] },
        { name: "writer", tokenSha256: hashToken(writer), permissions: ["write"] },
      ],
    });
    const { peer: r } = await peer(server.port, reader);
    const { peer: w } = await peer(server.port, writer);
    r.send({ type: "share", id: 1, kind: "upload", paths: [""], expiresIn: 60 });
    expect(await r.next()).toMatchObject({ type: "error", id: 1, code: "FORBIDDEN" });
    w.send({ type: "share", id: 1, kind: "download", paths: ["b.txt"], expiresIn: 60 });
    expect(await w.next()).toMatchObject({ type: "error", id: 1, code: "FORBIDDEN" });
    r.send({ type: "share", id: 2, kind: "download", paths: ["b.txt"], expiresIn: 60 });
    const shared = await r.next();
    if (shared.type !== "shared") throw new Error("expected shared");
    w.send({ type: "share_list", id: 3 });
    expect(await w.next()).toEqual({ type: "shares", id: 3, links: [], more: false });
    w.send({ type: "share_revoke", id: 4, link: shared.secret });
    expect(await w.next()).toMatchObject({ type: "error", id: 4, code: "NOT_FOUND" });
    expect(server.server.spaceForLink("reader", "read")).toBeDefined();
    expect(server.server.spaceForLink("reader", "write")).toBeUndefined();
    expect(server.server.spaceForLink(null, "read")).toBeUndefined();
  });

  it("answers UNSUPPORTED while sharing is off, and does not announce it", async () => {
    const server = await startTestServer();
    servers.push(server);
    const { peer: wire, capabilities } = await peer(server.port);
    expect(capabilities).not.toContain("share");
    wire.send({ type: "share_list", id: 1 });
    expect(await wire.next()).toMatchObject({ type: "error", id: 1, code: "UNSUPPORTED" });
    wire.send({ type: "list", id: 2 });
    expect(await wire.next()).toMatchObject({ type: "listing", id: 2 });
  });
});
