import { randomBytes } from "node:crypto";
import pg from "pg";
import { describe, it } from "vitest";
import { describeShareStoreContract } from "@ferry/server-core/share-store-contract";
import { PgShareStore } from "./pg-share-store.js";
import { clusterEnv } from "./testing/cluster-env.js";

const env = clusterEnv();
if ("skipped" in env) {
  console.log(`skipped: PostgreSQL share-link contract: ${env.skipped}`);
  describe("PgShareStore contract", () => {
    it.skip(env.skipped, () => undefined);
  });
} else {
  // Each view is its own pool, as a second server of the cluster would have.
  describeShareStoreContract("PostgreSQL table", async () => {
    const schema = `s_${randomBytes(6).toString("hex")}`;
    return {
      open: () => PgShareStore.open(env.db, { schema }),
      async cleanup() {
        const client = new pg.Client({ connectionString: env.db });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
        await client.end();
      },
    };
  });
}
