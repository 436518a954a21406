import { afterEach, beforeEach, expect, it } from "vitest";
import { listDir, sha256, startTestServer } from "./testing/fixtures.js";
import { WirePeer } from "./testing/wire-peer.js";

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
let server: TestServer;

beforeEach(async () => {
  server = await startTestServer({ fsync: true });
});
afterEach(async () => {
  await server.cleanup();
});

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
