import { readdir, readFile, stat } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FerryClient } from "@ferry/client-core";
import type { ServerConfigInput, UserConfig } from "@ferry/protocol";
import { FerryServer, hashToken, newToken, ServerError } from "@ferry/server-core";
import { Cleanups, clientFailure } from "./testing/client-helpers.js";
import { listDir, sha256, startTestServer, waitFor, WirePeer, type TestServer } from "@ferry/server-core/testing";

const cleanups = new Cleanups();
afterEach(() => cleanups.runAll());

const tokens = { alice: newToken(), bob: newToken(), reader: newToken(), writer: newToken() };
function user(name: keyof typeof tokens, permissions: UserConfig["permissions"], extra: Partial<UserConfig> = {}): UserConfig {
  return { name, tokenSha256: hashToken(tokens[name]), permissions, ...extra };
}

async function serve(config: ServerConfigInput): Promise<TestServer> {
  const server = await startTestServer(config);
  cleanups.add(() => server.cleanup());
  return server;
}

async function connect(server: TestServer, token?: string): Promise<FerryClient> {
  const client = await FerryClient.connect({ port: server.port, ...(token ? { token } : {}) });
  cleanups.add(() => client.close());
  return client;
}

const failure = clientFailure;

async function put(client: FerryClient, name: string, text: string, onConflict?: "overwrite") {
  const body = Buffer.from(text);
  return client.uploadStream([body], { name, size: body.length, onConflict });
}

describe("authentication", () => {
  const users = [user("alice", ["read", "write", "delete"]), user("bob", ["read"])];

  it("welcomes a valid token with the user's name and permissions", async () => {
    const server = await serve({ users });
    const client = await connect(server, tokens.bob);
    expect(client.server.user).toEqual({ name: "bob", permissions: ["read"] });
    expect(server.events.authenticated.map((e) => e.user)).toEqual(["bob"]);
  });

  it("refuses a HELLO without a token: AUTH_REQUIRED, and the connection closes", async () => {
    const server = await serve({ users });
    expect((await failure(connect(server))).code).toBe("AUTH_REQUIRED");
  });

  it("answers a wrong token only after the delay, with AUTH_FAILED", async () => {
    const server = await serve({ users, authFailureDelayMs: 300 });
    const started = performance.now();
    expect((await failure(connect(server, newToken()))).code).toBe("AUTH_FAILED");
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
  });

  it("blocks an address after maxAuthFailures, even for a right token, until the window passes", async () => {
    const server = await serve({ users, authFailureDelayMs: 0, maxAuthFailures: 2, authBlockMs: 800 });
    for (let i = 0; i < 2; i++) expect((await failure(connect(server, newToken()))).code).toBe("AUTH_FAILED");
    const blocked = await failure(connect(server, tokens.alice));
    expect(blocked.code).toBe("AUTH_FAILED");
    expect(blocked.message).toMatch(/too many failed/);
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect((await connect(server, tokens.alice)).server.user?.name).toBe("alice");
  });

  it("counts guesses made in parallel: 10 connections at once get at most maxAuthFailures token checks", async () => {
    const server = await serve({ users, authFailureDelayMs: 300, maxAuthFailures: 3 });
    const started = performance.now();
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => failure(connect(server, newToken()))));
    expect(outcomes.every((e) => e.code === "AUTH_FAILED")).toBe(true);
    // Only 3 waited out the delay as real checks; the other 7 were refused at once as blocked.
    expect(outcomes.filter((e) => /too many failed/.test(e.message))).toHaveLength(7);
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
  });

  it("keeps serving others while a peer guesses tokens", async () => {
    const server = await serve({ users, authFailureDelayMs: 500 });
    const guess = failure(connect(server, newToken()));
    const alice = await connect(server, tokens.alice);
    expect((await put(alice, "a.txt", "hello")).name).toBe("a.txt");
    expect((await guess).code).toBe("AUTH_FAILED");
  });

  it("never puts a token in an event", async () => {
    const server = await serve({ users, authFailureDelayMs: 0 });
    await failure(connect(server, "wrong-token-value"));
    const alice = await connect(server, tokens.alice);
    await put(alice, "a.txt", "x");
    const seen = JSON.stringify(server.events);
    expect(seen).not.toContain(tokens.alice);
    expect(seen).not.toContain("wrong-token-value");
  });

  it("accepts any HELLO on an open server and says nothing of users", async () => {
    const server = await serve({});
    const client = await connect(server, newToken());
    expect(client.server.user).toBeUndefined();
  });
});

describe("an open server", () => {
  it("refuses to bind a non-loopback address without allowAnonymous", () => {
    const error = (() => {
      try {
        new FerryServer({ host: "0.0.0.0", port: 0 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).code).toBe("INVALID_CONFIG");
    expect(() => new FerryServer({ host: "0.0.0.0", port: 0, allowAnonymous: true })).not.toThrow();
    expect(() => new FerryServer({ host: "0.0.0.0", port: 0, users: [user("alice", ["read"])] })).not.toThrow();
  });

  it("turns raw uploads off once users are configured (unless raw is set)", async () => {
    const server = await serve({ users: [user("alice", ["write"])] });
    const socket = net.connect({ host: "127.0.0.1", port: server.port });
    socket.on("error", () => undefined);
    socket.end("lab bytes, no token\n");
    await server.closedConnections(1);
    expect(await listDir(server.dir)).toEqual([]);
    expect(server.server.rawAllowed).toBe(false);
    expect(new FerryServer({ users: [user("alice", ["write"])], raw: true }).rawAllowed).toBe(true);
  });
});

describe("permissions", () => {
  const users = [user("reader", ["read"]), user("writer", ["write"]), user("alice", ["read", "write", "delete"])];

  it("refuses an upload without write: FORBIDDEN, and the connection goes on", async () => {
    const server = await serve({ users });
    const reader = await connect(server, tokens.reader);
    const error = await failure(put(reader, "x.txt", "nope"));
    expect(error.code).toBe("FORBIDDEN");
    expect(error.message).toMatch(/write/);
    expect(await reader.list()).toEqual([]);
    expect(await listDir(server.dir)).toEqual([]);
  });

  it("refuses listing, downloading and deleting without read or delete", async () => {
    const server = await serve({ users });
    const writer = await connect(server, tokens.writer);
    await put(writer, "w.txt", "written");
    expect((await failure(writer.list())).code).toBe("FORBIDDEN");
    expect((await failure(writer.download("w.txt", { dir: path.join(server.dir, "never") }))).code).toBe("FORBIDDEN");
    expect((await failure(writer.delete("w.txt"))).code).toBe("FORBIDDEN");
    expect(await readFile(path.join(server.dir, "w.txt"), "utf8")).toBe("written");
  });

  it("needs delete as well as write to overwrite", async () => {
    const server = await serve({ users });
    const writer = await connect(server, tokens.writer);
    await put(writer, "w.txt", "first");
    expect((await failure(put(writer, "w.txt", "second", "overwrite"))).code).toBe("FORBIDDEN");
    const alice = await connect(server, tokens.alice);
    expect((await put(alice, "w.txt", "second", "overwrite")).outcome).toBe("overwritten");
    expect(await readFile(path.join(server.dir, "w.txt"), "utf8")).toBe("second");
  });
});

describe("per-user folders", () => {
  const users = [user("alice", ["read", "write", "delete"], { dir: "home/alice" }), user("bob", ["read", "write"], { dir: "home/bob" })];

  it("puts each user's files in their folder and shows them nothing else", async () => {
    const server = await serve({ users });
    const alice = await connect(server, tokens.alice);
    const bob = await connect(server, tokens.bob);
    await put(alice, "notes/a.txt", "alice's");
    await put(bob, "b.txt", "bob's");
    expect(await readFile(path.join(server.dir, "home/alice/notes/a.txt"), "utf8")).toBe("alice's");
    expect((await bob.list()).map((e) => e.name)).toEqual(["b.txt"]);
    expect((await alice.list()).map((e) => e.name)).toEqual(["notes/a.txt"]);
    expect((await failure(bob.download("../alice/notes/a.txt", { dir: path.join(server.dir, "x") }))).code).toBe("BAD_NAME");
    expect((await failure(bob.download("notes/a.txt", { dir: path.join(server.dir, "x") }))).code).toBe("NOT_FOUND");
  });

  it("keeps resumable uploads apart: another user's key finds nothing", async () => {
    const server = await serve({ users: [user("alice", ["write"]), user("bob", ["write"])] });
    const key = "ab".repeat(16);
    const resume = { key, chunkSize: 1024 * 1024 };
    const first = (await WirePeer.handshake(server.port, { token: tokens.alice })).peer;
    first.send({ type: "put", id: 1, name: "big.bin", size: 4 * 1024 * 1024, resume });
    expect(await first.next()).toMatchObject({ type: "put_offer", offset: 0 });
    first.send({ type: "put_from", id: 1, offset: 0 });
    first.data(Buffer.alloc(1024 * 1024, 7));
    first.data(Buffer.alloc(1024 * 1024, 7));
    await new Promise((resolve) => setTimeout(resolve, 200));
    first.socket.destroy();
    await server.closedConnections(1);

    const bob = (await WirePeer.handshake(server.port, { token: tokens.bob })).peer;
    bob.send({ type: "put", id: 1, name: "big.bin", size: 4 * 1024 * 1024, resume });
    expect(await bob.next()).toMatchObject({ type: "put_offer", offset: 0, chunks: [] });
    bob.socket.destroy();
    await server.closedConnections(2);

    const again = (await WirePeer.handshake(server.port, { token: tokens.alice })).peer;
    again.send({ type: "put", id: 1, name: "big.bin", size: 4 * 1024 * 1024, resume });
    expect(await again.next()).toMatchObject({ type: "put_offer", offset: 2 * 1024 * 1024 });
    again.socket.destroy();
  });
});

describe("recorded digests across users", () => {
  it("a user without a folder sees the SHA-256 recorded for a user's folder, and the other way round", async () => {
    const server = await serve({ users: [user("alice", ["read", "write"], { dir: "alice" }), user("writer", ["read", "write"])] });
    const alice = await connect(server, tokens.alice);
    const writer = await connect(server, tokens.writer);
    const fromAlice = await put(alice, "mine.txt", "alice's");
    const fromWriter = await put(writer, "alice/theirs.txt", "the writer's");
    const seenByWriter = await writer.list("alice");
    const seenByAlice = await alice.list();
    // Before: the root and alice's folder kept separate records, so each saw the other's files "(not verified)".
    expect(seenByWriter).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "alice/mine.txt", sha256: fromAlice.digest.hex }),
        expect.objectContaining({ name: "alice/theirs.txt", sha256: fromWriter.digest.hex }),
      ]),
    );
    expect(seenByAlice).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "mine.txt", sha256: fromAlice.digest.hex }),
        expect.objectContaining({ name: "theirs.txt", sha256: fromWriter.digest.hex }),
      ]),
    );
  });
});

describe("quotas", () => {
  it("refuses an upload that would pass the quota, counts deletes, and reserves uploads in flight", async () => {
    const server = await serve({ users: [user("alice", ["read", "write", "delete"], { dir: "alice", quotaBytes: 1000 })] });
    const alice = await connect(server, tokens.alice);
    await put(alice, "one.txt", "x".repeat(600));
    const refused = await failure(put(alice, "two.txt", "y".repeat(600)));
    expect(refused.code).toBe("QUOTA_EXCEEDED");
    expect(refused.message).toMatch(/600 of 1000/);
    await alice.delete("one.txt");
    await put(alice, "two.txt", "y".repeat(600));
    expect((await stat(path.join(server.dir, "alice/two.txt"))).size).toBe(600);
    // Two uploads started together may not share the room left.
    const both = await Promise.allSettled([put(alice, "a.txt", "z".repeat(300)), put(alice, "b.txt", "z".repeat(300))]);
    expect(both.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
  });

  it("counts interrupted uploads from their first byte: resetting connections cannot get past the quota", async () => {
    // The hardening report's case: quota 2,500,000; resumable uploads of 2,400,000 bytes in 1 MiB
    // chunks, each cut after 2 MiB + 1,000 bytes by a reset.
    const quota = { dir: "alice", quotaBytes: 2_500_000 };
    const server = await serve({ users: [user("alice", ["write"], quota)] });
    const size = 2_400_000;
    const cutAfter = 2 * 1024 * 1024 + 1_000;
    async function interrupted(key: string): Promise<void> {
      const { peer } = await WirePeer.handshake(server.port, { token: tokens.alice });
      peer.send({ type: "put", id: 1, name: `${key}.bin`, size, resume: { key: key.repeat(32), chunkSize: 1024 * 1024 } });
      expect(await peer.next()).toMatchObject({ type: "put_offer", offset: 0 });
      peer.send({ type: "put_from", id: 1, offset: 0 });
      for (let sent = 0; sent < cutAfter; sent += 1024 * 1024) peer.data(Buffer.alloc(Math.min(1024 * 1024, cutAfter - sent), 1));
      // Reset only once the server holds every byte sent (its partial file has them).
      const partialSize = async (): Promise<number> => {
        const names = (await readdir(path.join(server.dir, "alice"))).filter((n) => n.startsWith(".ferry-part-") && !n.endsWith(".journal"));
        const sizes = await Promise.all(names.map(async (n) => (await stat(path.join(server.dir, "alice", n))).size));
        return Math.max(0, ...sizes);
      };
      await waitFor(async () => (await partialSize()) >= cutAfter);
      peer.socket.resetAndDestroy();
      await server.closedConnections(server.events["connection-closed"].length + 1);
    }
    await interrupted("a");
    // Its partial holds up to 2 MiB + 1,000 bytes: a second interrupted upload, or a plain put, no longer fits.
    const second = (await WirePeer.handshake(server.port, { token: tokens.alice })).peer;
    second.send({ type: "put", id: 1, name: "b.bin", size, resume: { key: "b".repeat(32), chunkSize: 1024 * 1024 } });
    expect(await second.next()).toMatchObject({ type: "error", id: 1, code: "QUOTA_EXCEEDED" });
    second.socket.destroy();
    const alice = await connect(server, tokens.alice);
    expect((await failure(put(alice, "plain.bin", "p".repeat(1_000_000)))).code).toBe("QUOTA_EXCEEDED");
    // Resuming the interrupted upload itself is not counted twice.
    const resumed = (await WirePeer.handshake(server.port, { token: tokens.alice })).peer;
    resumed.send({ type: "put", id: 1, name: "a.bin", size, resume: { key: "a".repeat(32), chunkSize: 1024 * 1024 } });
    expect(await resumed.next()).toMatchObject({ type: "put_offer", id: 1 });
    resumed.socket.destroy();
  });

  it("bounds a user's interrupted uploads in number: past maxPartials the one interrupted longest ago is deleted", async () => {
    const server = await serve({ maxPartials: 2, users: [user("alice", ["write"], { dir: "alice" })] });
    const partials = async (): Promise<string[]> =>
      (await readdir(path.join(server.dir, "alice"))).filter((n) => n.startsWith(".ferry-part-") && !n.endsWith(".journal")).sort();
    // A user's resume key is stored hashed with the user's name (protocol.md §4.4: keys are scoped per user).
    const partialOf = (letter: string) => `.ferry-part-${sha256(Buffer.from(`alice\0${letter.repeat(32)}`))}`;
    for (const letter of ["a", "b", "c"]) {
      const { peer } = await WirePeer.handshake(server.port, { token: tokens.alice });
      peer.send({ type: "put", id: 1, name: `${letter}.bin`, size: 2 * 1024 * 1024, resume: { key: letter.repeat(32), chunkSize: 1024 * 1024 } });
      expect(await peer.next()).toMatchObject({ type: "put_offer", offset: 0 });
      peer.send({ type: "put_from", id: 1, offset: 0 });
      peer.data(Buffer.alloc(1_000, 1));
      peer.socket.resetAndDestroy();
      await server.closedConnections(server.events["connection-closed"].length + 1);
    }
    expect(await partials()).toEqual([partialOf("b"), partialOf("c")].sort());
  });

  it("counts what is already stored at start", async () => {
    const first = await serve({ users: [user("alice", ["write"], { dir: "alice", quotaBytes: 1000 })] });
    const alice = await connect(first, tokens.alice);
    await put(alice, "old.txt", "o".repeat(900));
    await alice.close();
    await first.server.stop();
    const second = await serve({ dir: first.dir, users: [user("alice", ["write"], { dir: "alice", quotaBytes: 1000 })] });
    const again = await connect(second, tokens.alice);
    expect((await failure(put(again, "new.txt", "n".repeat(200)))).code).toBe("QUOTA_EXCEEDED");
  });
});
