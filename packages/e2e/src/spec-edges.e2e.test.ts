/**
 * The edges of docs/protocol.md that an independent client found unspecified or contradicted
 * (issue 12): each decision is written in the spec and pinned here by the bytes or code a peer
 * observes.
 */
import { readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FerryClient } from "@ferry/client-core";
import { encodePreamble, FRAME_TYPES, PROTOCOL_VERSION, type Message } from "@ferry/protocol";
import { listDir, sha256, startTestServer, WirePeer, type TestServer } from "@ferry/server-core/testing";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ raw: false });
});
afterAll(async () => {
  await server.cleanup();
});

/** A CONTROL frame around raw JSON text (so the JSON can be spelled any way). */
function control(json: string | Buffer): Buffer {
  const body = typeof json === "string" ? Buffer.from(json) : json;
  const header = Buffer.alloc(5);
  header[0] = FRAME_TYPES.CONTROL;
  header.writeUInt32BE(body.length, 1);
  return Buffer.concat([header, body]);
}

/** PUT + DATA + PUT_END of `body` under `name` on `peer`. */
function put(peer: WirePeer, id: number, name: string, body: Buffer): void {
  peer.send({ type: "put", id, name, size: body.length });
  if (body.length > 0) peer.data(body);
  peer.send({ type: "put_end", id, sha256: sha256(body) });
}

/** The connection still works: a small upload on it is stored. */
async function expectUsable(peer: WirePeer, id: number): Promise<void> {
  const body = Buffer.from(`still here ${id}`);
  put(peer, id, `usable-${id}.txt`, body);
  expect(await peer.next()).toMatchObject({ type: "stored", id, sha256: sha256(body) });
}

describe("§6 names: over-long and invisible names are BAD_NAME, never fatal", () => {
  it.each([
    ["a 4,097-byte path", Array.from({ length: 17 }, (_, i) => `${i}`.padEnd(240, "p")).join("/").padEnd(4097, "q")],
    ["a 60,000-character name", "n".repeat(60_000)],
    ["a zero-width space (report\\u200b.pdf)", "report\u200b.pdf"],
    ["a soft hyphen", "re\u00adport.pdf"],
    ["a byte-order mark inside", "report\ufeff.pdf"],
    ["a line separator", "two\u2028lines.txt"],
    ["the reserved prefix in another case (.Ferry-index.jsonl)", ".Ferry-index.jsonl"],
    ["the reserved prefix upper-case (.FERRY-tmp-x)", ".FERRY-tmp-x"],
  ])("%s → error{id, BAD_NAME}; the connection goes on", async (_row, name) => {
    const { peer } = await WirePeer.handshake(server.port);
    put(peer, 1, name, Buffer.from("x"));
    expect(await peer.next()).toMatchObject({ type: "error", id: 1, code: "BAD_NAME" });
    await expectUsable(peer, 2);
    peer.socket.end();
    await peer.closed;
  });

  it("ZWJ and variation selectors stay allowed: emoji names are stored", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    const family = "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}.txt"; // 👨‍👩‍👧 (ZWJ sequence)
    const heart = "\u2764\uFE0F.txt"; // ❤️ (variation selector 16)
    put(peer, 1, family, Buffer.from("a"));
    put(peer, 2, heart, Buffer.from("b"));
    expect(await peer.next()).toMatchObject({ type: "stored", name: family });
    expect(await peer.next()).toMatchObject({ type: "stored", name: heart });
    peer.socket.end();
  });
});

describe("§7 control messages: every legal client message fits the 65,536-byte CONTROL limit", () => {
  it("a GET with 512 resume digests (34 KB) is served, not refused", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    const body = Buffer.from("resumable?");
    put(peer, 1, "digests.txt", body);
    expect(await peer.next()).toMatchObject({ type: "stored" });
    const chunks = Array.from({ length: 512 }, () => "0".repeat(64));
    peer.send({ type: "get", id: 2, name: "digests.txt", resume: { chunkSize: 1024 * 1024, chunks } });
    // No held chunk matches: the whole file comes, from offset 0.
    expect(await peer.next()).toMatchObject({ type: "get_begin", id: 2, size: body.length, offset: 0 });
    expect(await peer.next()).toMatchObject({ type: "get_end", id: 2, sha256: sha256(body) });
    peer.socket.end();
  });

  it("a CONTROL frame over 65,536 bytes is refused on its header (FRAME_TOO_LARGE), before the body", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    peer.write(Buffer.from([FRAME_TYPES.CONTROL, 0, 1, 0, 1])); // 65,537 announced, none sent
    expect(await peer.next()).toMatchObject({ type: "error", code: "FRAME_TOO_LARGE" });
    await peer.closed;
  });
});

describe("§4.2 resume chunks", () => {
  it("513 chunks → error{id, TOO_MANY_CHUNKS}; the upload is discarded and the connection goes on", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    const MiB = 1024 * 1024;
    peer.send({ type: "put", id: 1, name: "big.bin", size: 513 * MiB, resume: { key: "a".repeat(32), chunkSize: MiB } });
    expect(await peer.next()).toMatchObject({ type: "error", id: 1, code: "TOO_MANY_CHUNKS" });
    // DISCARDING: the client ends the refused upload as any other.
    peer.send({ type: "cancel", id: 1 });
    await expectUsable(peer, 2);
    peer.socket.end();
  });
});

describe("§3/§5 DATA outside an upload", () => {
  it("a zero-length DATA frame in IDLE is fatal UNEXPECTED_MESSAGE", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    peer.write(Buffer.from([FRAME_TYPES.DATA, 0, 0, 0, 0]));
    expect(await peer.next()).toMatchObject({ type: "error", code: "UNEXPECTED_MESSAGE" });
    await peer.closed;
  });

  it("a zero-length DATA frame inside an upload carries nothing", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    const body = Buffer.from("abc");
    peer.send({ type: "put", id: 1, name: "empty-frames.txt", size: body.length });
    peer.write(Buffer.from([FRAME_TYPES.DATA, 0, 0, 0, 0]));
    peer.data(body);
    peer.write(Buffer.from([FRAME_TYPES.DATA, 0, 0, 0, 0]));
    peer.send({ type: "put_end", id: 1, sha256: sha256(body) });
    expect(await peer.next()).toMatchObject({ type: "stored", size: 3 });
    peer.socket.end();
  });
});

describe("§4 JSON spellings", () => {
  it("a duplicated key: the last one counts, even for type", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    peer.write(control('{"type":"put","type":"list","id":4}'));
    expect(await peer.next()).toMatchObject({ type: "listing", id: 4 });
    peer.socket.end();
  });

  it("a UTF-8 byte-order mark before the JSON is fatal BAD_MESSAGE", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    peer.write(control(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"type":"list","id":1}')])));
    expect(await peer.next()).toMatchObject({ type: "error", code: "BAD_MESSAGE" });
    await peer.closed;
  });

  it("integers may be spelled 3.0, 3e0 or -0: numbers are judged by value", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    const body = Buffer.from("xyz");
    peer.write(control(`{"type":"put","id":7.0,"name":"spelled.txt","size":3e0}`));
    peer.data(body);
    peer.write(control(`{"type":"put_end","id":70e-1,"sha256":"${sha256(body)}"}`));
    expect(await peer.next()).toMatchObject({ type: "stored", id: 7, size: 3 });
    peer.write(control('{"type":"list","id":-0}'));
    expect(await peer.next()).toMatchObject({ type: "listing", id: 0 });
    peer.socket.end();
  });

  it("an id may be reused: the server never checks, and answers keep request order", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    put(peer, 9, "same-id-1.txt", Buffer.from("1"));
    put(peer, 9, "same-id-2.txt", Buffer.from("2"));
    expect(await peer.next()).toMatchObject({ type: "stored", id: 9, name: "same-id-1.txt" });
    expect(await peer.next()).toMatchObject({ type: "stored", id: 9, name: "same-id-2.txt" });
    peer.socket.end();
  });

  it("a client's ERROR ends the connection: nothing is sent back, the upload in progress is dropped", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    const failedBefore = server.events["connection-error"].length;
    peer.send({ type: "put", id: 1, name: "given-up.txt", size: 10 });
    peer.data(Buffer.from("half"));
    peer.send({ type: "error", code: "BAD_MESSAGE", message: "could not decode your last frame" });
    await expect(peer.next()).rejects.toThrow(/closed with no further message/);
    await server.until("connection-error", failedBefore + 1);
    expect(server.events["connection-error"].at(-1)).toMatchObject({ code: "PEER_ERROR" });
    expect(await listDir(server.dir)).not.toContain("given-up.txt");
  });
});

describe("§4.3 listing order", () => {
  it("entries are sorted by code point (UTF-8 byte order), not by UTF-16 unit", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    const privateUse = "order/\uE000.txt"; // U+E000: one UTF-16 unit above the surrogates
    const emoji = "order/\u{1F600}.txt"; // U+1F600: a surrogate pair, which UTF-16 order puts first
    const ascii = "order/z.txt";
    put(peer, 1, emoji, Buffer.from("e"));
    put(peer, 2, privateUse, Buffer.from("p"));
    put(peer, 3, ascii, Buffer.from("z"));
    for (let i = 0; i < 3; i++) expect(await peer.next()).toMatchObject({ type: "stored" });
    peer.send({ type: "list", id: 4, path: "order" });
    const listing = await peer.next();
    expect(listing.type === "listing" && listing.entries.map((e) => e.name)).toEqual([ascii, privateUse, emoji]);
    peer.socket.end();
  });
});

describe("§4.5 a batch's files are judged in order, as PUTs would be", () => {
  async function batch(files: { name: string; body: Buffer }[]): Promise<Message> {
    const { peer } = await WirePeer.handshake(server.port);
    peer.send({ type: "put_batch", id: 1, files: files.map(({ name, body }) => ({ name, size: body.length, sha256: sha256(body) })) });
    peer.data(Buffer.concat(files.map((f) => f.body)));
    const answer = await peer.next();
    peer.socket.end();
    return answer;
  }

  it("two files of one name: the first takes it, the second is renamed", async () => {
    const answer = await batch([
      { name: "twice.txt", body: Buffer.from("first") },
      { name: "twice.txt", body: Buffer.from("second") },
    ]);
    expect(answer).toMatchObject({
      type: "batch_stored",
      results: [
        { name: "twice.txt", outcome: "created" },
        { name: "twice (1).txt", outcome: "renamed" },
      ],
    });
    expect(await readFile(path.join(server.dir, "twice.txt"), "utf8")).toBe("first");
  });

  it("a file, then a path through it: the file is stored, the path is BAD_NAME", async () => {
    const answer = await batch([
      { name: "bd/f", body: Buffer.from("file") },
      { name: "bd/f/inner", body: Buffer.from("inner") },
    ]);
    expect(answer).toMatchObject({ type: "batch_stored", results: [{ name: "bd/f", outcome: "created" }, { code: "BAD_NAME" }] });
  });

  it("a path, then a file of its folder's name: the folder stays, the file is renamed", async () => {
    const answer = await batch([
      { name: "bd2/f/inner", body: Buffer.from("inner") },
      { name: "bd2/f", body: Buffer.from("file") },
    ]);
    expect(answer).toMatchObject({
      type: "batch_stored",
      results: [
        { name: "bd2/f/inner", outcome: "created" },
        { name: "bd2/f (1)", outcome: "renamed" },
      ],
    });
  });
});

describe("§4.3 empty folders (capability empty-folders)", () => {
  it("put of \"dir/\" makes it, list with folders:true shows it, delete of \"dir/\" removes it", async () => {
    const { peer, welcome } = await WirePeer.handshake(server.port);
    expect(welcome).toMatchObject({ capabilities: expect.arrayContaining(["empty-folders"]) });
    put(peer, 1, "kept/empty/", Buffer.alloc(0));
    expect(await peer.next()).toMatchObject({ type: "stored", id: 1, name: "kept/empty/", size: 0 });
    put(peer, 2, "kept/empty/", Buffer.alloc(0)); // again: still one folder
    expect(await peer.next()).toMatchObject({ type: "stored", id: 2, name: "kept/empty/" });
    peer.send({ type: "list", id: 3, path: "kept" });
    expect(await peer.next()).toMatchObject({ type: "listing", entries: [] }); // without folders:true, files only
    peer.send({ type: "list", id: 4, path: "kept", folders: true });
    expect(await peer.next()).toMatchObject({ type: "listing", entries: [{ name: "kept/empty/", size: 0, sha256: null }], more: false });
    peer.send({ type: "delete", id: 5, name: "kept/empty/" });
    expect(await peer.next()).toMatchObject({ type: "deleted", id: 5, name: "kept/empty/" });
    expect(await listDir(server.dir)).not.toContain("kept"); // the emptied parent went too
    peer.socket.end();
  });

  it("a folder entry with bytes, under a file, or deleted while not empty is refused; the connection goes on", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    put(peer, 1, "sized/", Buffer.from("x"));
    expect(await peer.next()).toMatchObject({ type: "error", id: 1, code: "BAD_NAME" });
    put(peer, 2, "plain.txt", Buffer.from("file"));
    expect(await peer.next()).toMatchObject({ type: "stored", id: 2 });
    put(peer, 3, "plain.txt/", Buffer.alloc(0));
    expect(await peer.next()).toMatchObject({ type: "error", id: 3, code: "BAD_NAME" });
    put(peer, 4, "full/inside.txt", Buffer.from("in"));
    expect(await peer.next()).toMatchObject({ type: "stored", id: 4 });
    peer.send({ type: "delete", id: 5, name: "full/" });
    expect(await peer.next()).toMatchObject({ type: "error", id: 5, code: "NOT_FOUND" });
    await expectUsable(peer, 6);
    peer.socket.end();
  });
});

describe("§2 the first bytes", () => {
  let raw: TestServer;
  beforeAll(async () => {
    raw = await startTestServer({ raw: true });
  });
  afterAll(async () => {
    await raw.cleanup();
  });

  async function sendAndClose(bytes: Buffer): Promise<Buffer> {
    const socket = net.connect({ host: "127.0.0.1", port: raw.port });
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.on("error", () => undefined);
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.end(bytes);
    await new Promise((resolve) => socket.once("close", resolve));
    return Buffer.concat(received);
  }

  it.each([
    ["the 6 magic bytes", Buffer.from(encodePreamble().subarray(0, 6))],
    ["the magic and one version byte", Buffer.from(encodePreamble().subarray(0, 7))],
  ])("%s then FIN: a raw upload of exactly those bytes", async (_row, bytes) => {
    const stored = raw.events["upload-stored"].length;
    expect((await sendAndClose(bytes)).length).toBe(0); // the server never writes to a raw peer
    await raw.until("upload-stored", stored + 1);
    const name = raw.events["upload-stored"].at(-1)!.name;
    expect(name).toMatch(/^output\d+\.txt$/);
    expect(await readFile(path.join(raw.dir, name))).toEqual(bytes);
  });

  it("a TLS ClientHello record is never stored: it gets the plaintext hint", async () => {
    const before = await listDir(raw.dir);
    const hello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]);
    expect((await sendAndClose(hello)).toString()).toBe("ferry-server: this port speaks plain TCP, not TLS (connect without --tls)\n");
    expect(await listDir(raw.dir)).toEqual(before);
  });

  it("8 matching bytes make a Ferry connection even when the rest comes later", async () => {
    const peer = await WirePeer.connect(raw.port);
    peer.write(encodePreamble());
    peer.send({ type: "hello", version: PROTOCOL_VERSION, agent: "late" });
    expect(await peer.next()).toMatchObject({ type: "welcome" });
    peer.socket.end();
  });
});

it("a normal client is served after every case above", async () => {
  const client = await FerryClient.connect({ port: server.port });
  const body = Buffer.from("after all");
  expect((await client.uploadStream([body], { name: "after.txt", size: body.length })).digest.hex).toBe(sha256(body));
  await client.close();
});
