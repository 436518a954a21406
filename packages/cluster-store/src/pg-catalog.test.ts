// PgCatalog's cross-server rules that the storage contract cannot see from one process's views:
// a session swept by exactly one server, and what a server that is gone stops holding.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ServerError } from "@ferry/server-core";
import { PgCatalog } from "./pg-catalog.js";
import { clusterEnv, freshCluster } from "./testing/cluster-env.js";

const env = clusterEnv();
const session = (key: string) => ({
  key,
  space: "",
  name: "f.bin",
  size: 100,
  chunkSize: 10,
  object: `objects/${key}`,
  uploadId: "u",
  offset: 40,
  parts: [],
  chunks: [],
  hashState: new Uint8Array([1, 2, 3]),
});

if ("skipped" in env) {
  console.log(`skipped: PgCatalog: ${env.skipped}`);
  describe.skip("PgCatalog", () => it("needs PostgreSQL", () => undefined));
} else {
  describe("PgCatalog across servers", () => {
    let cluster: Awaited<ReturnType<typeof freshCluster>>;
    let a: PgCatalog;
    let b: PgCatalog;
    beforeEach(async () => {
      cluster = await freshCluster(env);
      a = await PgCatalog.open(env.db, { schema: cluster.config.schema! });
      b = await PgCatalog.open(env.db, { schema: cluster.config.schema! });
    });
    afterEach(async () => {
      await a.close();
      await b.close();
      await cluster.cleanup();
    });

    it("hands an expired session to exactly one of two servers sweeping at once", async () => {
      for (const key of ["s1", "s2", "s3"]) await a.saveSession(session(key));
      const [fromA, fromB] = await Promise.all([a.takeExpiredSessions(0), b.takeExpiredSessions(0)]);
      expect([...fromA, ...fromB].map((s) => s.key).sort()).toEqual(["s1", "s2", "s3"]);
      expect(await a.takeExpiredSessions(0)).toEqual([]);
    });

    it("never sweeps a session a live server holds", async () => {
      await a.saveSession(session("held"));
      expect(await a.claim("held")).toBe(true);
      expect(await b.takeExpiredSessions(0)).toEqual([]);
      await a.unclaim("held");
      expect((await b.takeExpiredSessions(0)).map((s) => s.key)).toEqual(["held"]);
    });

    it("releases the sessions and reservations of a server whose connection is gone", async () => {
      await a.saveSession(session("k"));
      expect(await a.claim("k")).toBe(true);
      expect(await b.claim("k")).toBe(false);
      await a.reserve("u/", 1000, 900);
      await expect(b.reserve("u/", 1000, 200)).rejects.toSatisfy((e) => e instanceof ServerError && e.code === "QUOTA_EXCEEDED");
      await a.close(); // as a killed server's connections close
      // PostgreSQL drops the locks once that backend has exited: wait for it, not for a clock.
      await expect.poll(() => b.claim("k"), { timeout: 60_000 }).toBe(true);
      // "k" is held by b now, so its 40 bytes count only for others; a's 900 no longer count.
      await expect.poll(() => b.reserve("u/", 1000, 960).then(() => "reserved", (e: ServerError) => e.code), { timeout: 60_000 }).toBe("reserved");
      a = await PgCatalog.open(env.db, { schema: cluster.config.schema! });
    });

    it("keeps the session's hash state and chunk digests byte for byte", async () => {
      const saved = { ...session("h"), chunks: ["a".repeat(64)], parts: [{ number: 1, etag: '"e"' }], hashState: new Uint8Array(Array.from({ length: 116 }, (_, i) => i)) };
      await a.saveSession(saved);
      expect(await b.session("h")).toEqual(saved);
    });
  });
}
