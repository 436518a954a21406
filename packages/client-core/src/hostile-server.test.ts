import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeData } from "@ferry/protocol";
import { FerryClient } from "./ferry-client.js";
import { startFakeServer, welcome, type FakeConnection } from "./testing/fake-server.js";
import { codeOf } from "./testing/codes.js";

// A server that speaks the protocol but lies. The client must refuse, write nothing under a final
// name, leave no temp file, and never write outside the directory it was given.
let root: string;
let inbox: string;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), "ferry-hostile-"));
  inbox = path.join(root, "inbox");
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await rm(root, { recursive: true, force: true });
});

const ALL = ["upload", "download", "list", "delete", "conflict", "resume"];
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** A fake server that welcomes, waits for one request and hands it to `answer`. */
async function lyingServer(answer: (conn: FakeConnection, request: { id: number; name?: string }) => void, capabilities = ALL) {
  const server = await startFakeServer(async (conn) => {
    await conn.nextFrame();
    conn.send(welcome({ capabilities }));
    const frame = await conn.nextFrame();
    if (frame.kind === "control" && "id" in frame.message) answer(conn, frame.message as { id: number; name?: string });
  });
  cleanups.push(() => server.close());
  const client = await FerryClient.connect({ port: server.port });
  cleanups.push(() => client.close());
  return client;
}

function data(conn: FakeConnection, bytes: Buffer): void {
  for (const part of encodeData(bytes)) conn.socket.write(part);
}


/** Nothing under a final name, no partial, nothing outside the inbox. */
async function expectNothingWritten(): Promise<void> {
  expect(await readdir(inbox).catch(() => [] as string[])).toEqual([]);
  expect((await readdir(root)).filter((n) => n !== "inbox")).toEqual([]);
}

describe("a hostile server cannot make the client write", () => {
  it("a path of its choosing: GET_BEGIN naming another file is a protocol error", async () => {
    const body = Buffer.from("pwned");
    const client = await lyingServer((conn, req) => {
      conn.send({ type: "get_begin", id: req.id, name: "../evil.txt", size: body.length });
      data(conn, body);
      conn.send({ type: "get_end", id: req.id, sha256: sha(body) });
    });
    expect(await codeOf(client.download("report.txt", { dir: inbox }))).toBe("PROTOCOL_ERROR");
    await expectNothingWritten();
  });

  it("more bytes than it announced", async () => {
    const client = await lyingServer((conn, req) => {
      conn.send({ type: "get_begin", id: req.id, name: req.name!, size: 3 });
      data(conn, Buffer.from("abcdef"));
    });
    expect(await codeOf(client.download("a.txt", { dir: inbox }))).toBe("PROTOCOL_ERROR");
    await expectNothingWritten();
  });

  it("bytes that do not match its own SHA-256", async () => {
    const client = await lyingServer((conn, req) => {
      conn.send({ type: "get_begin", id: req.id, name: req.name!, size: 4 });
      data(conn, Buffer.from("real"));
      conn.send({ type: "get_end", id: req.id, sha256: sha(Buffer.from("fake")) });
    });
    expect(await codeOf(client.download("a.txt", { dir: inbox }))).toBe("CHECKSUM_MISMATCH");
    await expectNothingWritten();
  });

  it("a truncated download followed by a hang-up", async () => {
    const client = await lyingServer((conn, req) => {
      conn.send({ type: "get_begin", id: req.id, name: req.name!, size: 100 });
      data(conn, Buffer.alloc(10));
      conn.socket.destroy();
    });
    expect(await codeOf(client.download("a.txt", { dir: inbox }))).toBe("CONNECTION_CLOSED");
    // A file of one chunk or less cannot resume before its end, so nothing is kept for it either
    // (resume.e2e covers a large download continuing from its journalled chunks).
    await expectNothingWritten();
  });

  it("a resumed download at an offset it was never offered", async () => {
    const client = await lyingServer((conn, req) => {
      conn.send({ type: "get_begin", id: req.id, name: req.name!, size: 100, offset: 50 });
    });
    expect(await codeOf(client.download("a.txt", { dir: inbox }))).toBe("PROTOCOL_ERROR");
    await expectNothingWritten();
  });

  it("DATA when no download was asked for", async () => {
    const client = await lyingServer((conn) => data(conn, Buffer.from("surprise")));
    expect(await codeOf(client.list())).toBe("PROTOCOL_ERROR");
  });

  it("a listing with an unsafe name is refused whole", async () => {
    const client = await lyingServer((conn, req) => {
      conn.send({ type: "listing", id: req.id, entries: [{ name: "../../etc/passwd", size: 1, mtime: 0, sha256: null }], more: false });
    });
    expect(await codeOf(client.list())).toBe("PROTOCOL_ERROR");
  });
});

describe("capabilities", () => {
  it("a server that does not announce download, list or delete gets NOT_SUPPORTED, not a request", async () => {
    const client = await lyingServer(() => undefined, ["upload"]);
    expect(await codeOf(client.download("a.txt", { dir: inbox }))).toBe("NOT_SUPPORTED");
    expect(await codeOf(client.list())).toBe("NOT_SUPPORTED");
    expect(await codeOf(client.delete("a.txt"))).toBe("NOT_SUPPORTED");
    expect(await codeOf(client.uploadStream([Buffer.from("x")], { name: "x", size: 1, onConflict: "overwrite" }))).toBe("NOT_SUPPORTED");
  });
});
