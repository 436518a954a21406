import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { ListEntry } from "@ferry/protocol";
import { startTestServer, type TestServer } from "./testing/fixtures.js";
import { WirePeer } from "./testing/wire-peer.js";

let server: TestServer;
beforeEach(async () => void (server = await startTestServer()));
afterEach(() => server.cleanup());

/** Sends LIST and gathers every page until more=false. */
async function listAll(peer: WirePeer, id: number, folder?: string): Promise<{ pages: number; entries: ListEntry[] }> {
  peer.send({ type: "list", id, ...(folder === undefined ? {} : { path: folder }) });
  const entries: ListEntry[] = [];
  for (let pages = 1; ; pages++) {
    const page = await peer.next();
    if (page.type !== "listing") throw new Error(`expected a listing page, got ${JSON.stringify(page)}`);
    entries.push(...page.entries);
    if (!page.more) return { pages, entries };
  }
}

it("cuts listing pages by encoded size, so twenty 3,771-byte paths list instead of failing the connection", async () => {
  // The hardening report's case: lf/ + 15 × (250 × "x" + "/") + fNN, each path legal under §6.
  const folder = path.join(server.dir, "lf", ...Array.from({ length: 15 }, () => "x".repeat(250)));
  mkdirSync(folder, { recursive: true });
  for (let n = 0; n < 20; n++) writeFileSync(path.join(folder, `f${String(n).padStart(2, "0")}`), "");
  const { peer } = await WirePeer.handshake(server.port);
  const inFolder = await listAll(peer, 1, "lf");
  expect(inFolder.entries).toHaveLength(20);
  expect(Buffer.byteLength(inFolder.entries[0]!.name)).toBe(3 + 15 * 251 + 3);
  expect(inFolder.pages).toBeGreaterThan(1);
  const all = await listAll(peer, 2);
  expect(all.entries).toHaveLength(20);
  peer.socket.end();
});
