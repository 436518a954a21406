import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { sha256, startTestServer, type TestServer } from "./testing/fixtures.js";
import { WirePeer } from "./testing/wire-peer.js";
import { StorageRoot } from "./storage-root.js";

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await server.cleanup();
});

/** After a bug on one connection, the next one is served normally. */
async function expectStillServing(): Promise<void> {
  const { peer } = await WirePeer.handshake(server.port);
  const body = Buffer.from("after the bug");
  peer.send({ type: "put", id: 1, name: "after.txt", size: body.length });
  peer.data(body);
  peer.send({ type: "put_end", id: 1, sha256: sha256(body) });
  expect(await peer.next()).toMatchObject({ type: "stored", name: "after.txt" });
  peer.socket.end();
}

it("a storage call that throws a plain error is INTERNAL: logged with its stack, INTERNAL_ERROR on the wire, never CONNECTION_LOST", async () => {
  vi.spyOn(StorageRoot.prototype, "list").mockImplementationOnce(() => {
    throw new TypeError("boom in list");
  });
  const { peer } = await WirePeer.handshake(server.port);
  peer.send({ type: "list", id: 7 });
  expect(await peer.next()).toMatchObject({ type: "error", code: "INTERNAL_ERROR" });
  await peer.closed;
  await server.closedConnections(1);
  expect(server.events["internal-error"]).toEqual([expect.objectContaining({ message: "boom in list", stack: expect.stringContaining("TypeError: boom in list") })]);
  expect(server.events["connection-error"].map((e) => e.code)).toEqual(["INTERNAL"]);
  await expectStillServing();
});

it("a bug while publishing an upload answers that upload INTERNAL_ERROR, then closes the connection", async () => {
  vi.spyOn(StorageRoot.prototype, "publish").mockRejectedValueOnce(new RangeError("boom in publish"));
  const { peer } = await WirePeer.handshake(server.port);
  const body = Buffer.from("will hit the bug");
  peer.send({ type: "put", id: 3, name: "bug.txt", size: body.length });
  peer.data(body);
  peer.send({ type: "put_end", id: 3, sha256: sha256(body) });
  expect(await peer.next()).toMatchObject({ type: "error", id: 3, code: "INTERNAL_ERROR" });
  expect(await peer.next()).toMatchObject({ type: "error", code: "INTERNAL_ERROR" });
  await peer.closed;
  expect(server.events["internal-error"]).toEqual([expect.objectContaining({ stack: expect.stringContaining("RangeError: boom in publish") })]);
  await expectStillServing();
});
