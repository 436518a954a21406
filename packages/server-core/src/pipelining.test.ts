import { afterEach, beforeEach, expect, it } from "vitest";
import { listDir, sha256, startTestServer, type TestServer } from "./testing/fixtures.js";
import { WirePeer } from "./testing/wire-peer.js";

// With fsync on, so commits (and their answers) run behind the frames that follow them.
let server: TestServer;
beforeEach(async () => void (server = await startTestServer({ fsync: true })));
afterEach(() => server.cleanup());

it("answers 50 pipelined uploads in PUT order, failures included, while commits run behind", async () => {
  const { peer } = await WirePeer.handshake(server.port);
  // Everything is written before reading a single answer: no round trip per file.
  for (let id = 1; id <= 50; id++) {
    const body = Buffer.from(`file number ${id}\n`);
    peer.send({ type: "put", id, name: id === 30 ? "../bad" : `f${id}.txt`, size: body.length });
    peer.data(body);
    peer.send({ type: "put_end", id, sha256: id === 25 ? sha256(Buffer.from("lie")) : sha256(body) });
  }
  const answers = [];
  for (let i = 0; i < 50; i++) answers.push(await peer.next());
  expect(answers.map((a) => ("id" in a ? a.id : -1))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  expect(answers[24]).toMatchObject({ type: "error", code: "CHECKSUM_MISMATCH" });
  expect(answers[29]).toMatchObject({ type: "error", code: "BAD_NAME" });
  expect(answers.filter((a) => a.type === "stored")).toHaveLength(48);
  peer.socket.end();
  await server.closedConnections(1);
  const stored = await listDir(server.dir);
  expect(stored).toHaveLength(48);
  expect(stored).not.toContain("f25.txt");
});

it("sends a resumable PUT's PUT_OFFER after the answers to the PUTs before it", async () => {
  const { peer } = await WirePeer.handshake(server.port);
  for (let id = 1; id <= 20; id++) {
    const body = Buffer.from(`small file ${id}\n`);
    peer.send({ type: "put", id, name: `s${id}.txt`, size: body.length });
    peer.data(body);
    peer.send({ type: "put_end", id, sha256: sha256(body) });
  }
  // Written with the others, before any answer was read: its offer must still come last.
  peer.send({ type: "put", id: 21, name: "big.bin", size: 32 * 1024 * 1024, resume: { key: "a".repeat(40), chunkSize: 8 * 1024 * 1024 } });
  const messages = [];
  for (let i = 0; i < 21; i++) messages.push(await peer.next());
  expect(messages.map((m) => `${m.type}:${"id" in m ? m.id : "-"}`)).toEqual([
    ...Array.from({ length: 20 }, (_, i) => `stored:${i + 1}`),
    "put_offer:21",
  ]);
  peer.socket.destroy();
});

it("answers every request of a peer that half-closes (FIN) right after sending them, then closes", async () => {
  const { peer } = await WirePeer.handshake(server.port);
  const bodies = [1, 2, 3].map((n) => Buffer.from(`half-closed ${n}\n`));
  bodies.forEach((body, i) => {
    peer.send({ type: "put", id: i + 1, name: `h${i + 1}.txt`, size: body.length });
    peer.data(body);
    peer.send({ type: "put_end", id: i + 1, sha256: sha256(body) });
  });
  peer.send({ type: "list", id: 4 });
  peer.socket.end(); // FIN before reading a single answer
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await peer.next());
  expect(answers.map((a) => `${a.type}:${"id" in a ? a.id : "-"}`)).toEqual(["stored:1", "stored:2", "stored:3", "listing:4"]);
  await peer.closed;
  expect(await listDir(server.dir)).toEqual(["h1.txt", "h2.txt", "h3.txt"]);
});

it("streams a whole download to a peer that half-closed right after its GET", async () => {
  const body = Buffer.alloc(300 * 1024, 7); // several DATA frames
  const { peer } = await WirePeer.handshake(server.port);
  peer.send({ type: "put", id: 1, name: "dl.bin", size: body.length });
  peer.data(body);
  peer.send({ type: "put_end", id: 1, sha256: sha256(body) });
  expect(await peer.next()).toMatchObject({ type: "stored" });
  peer.send({ type: "get", id: 2, name: "dl.bin" });
  peer.socket.end();
  expect(await peer.next()).toMatchObject({ type: "get_begin", id: 2, size: body.length });
  expect(await peer.next()).toMatchObject({ type: "get_end", id: 2, sha256: sha256(body) });
  await peer.closed;
});
