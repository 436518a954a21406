import { randomBytes } from "node:crypto";
import pg from "pg";
import { openClusterStorage, type ClusterConfig } from "../open.js";
import type { ClusterStorage } from "../cluster-storage.js";

/**
 * The running Swift and PostgreSQL the cluster tests use, named by the environment that
 * scripts/swift.sh and scripts/postgres.sh write (FERRY_TEST_S3_ENDPOINT, AWS_* and FERRY_TEST_DB),
 * or why the tests are skipped.
 */
export function clusterEnv(): { s3Endpoint: string; db: string } | { skipped: string } {
  const s3Endpoint = process.env["FERRY_TEST_S3_ENDPOINT"];
  const db = process.env["FERRY_TEST_DB"];
  if (!s3Endpoint || !db) {
    return { skipped: "no running Swift and PostgreSQL named (FERRY_TEST_S3_ENDPOINT, FERRY_TEST_DB; start them with scripts/swift.sh and scripts/postgres.sh)" };
  }
  return { s3Endpoint, db };
}

export const TEST_BUCKET = "ferry-test";

// The SDK warns that its releases after January 2027 need Node 22; the one used here is pinned.
process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";

/** A fresh, empty cluster store: its own key prefix in the test bucket and its own PostgreSQL schema. */
export async function freshCluster(env: { s3Endpoint: string; db: string }, options: Partial<ClusterConfig> = {}) {
  const id = randomBytes(6).toString("hex");
  const config: ClusterConfig = { s3: { endpoint: env.s3Endpoint, bucket: TEST_BUCKET, prefix: `t-${id}/` }, db: env.db, schema: `t_${id}`, ...options };
  return {
    config,
    /** The database URL with this store's schema as its search_path (for a ferry-server process). */
    dbUrl: `${env.db}${env.db.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${config.schema}`)}`,
    open: (): Promise<ClusterStorage> => openClusterStorage(config),
    async cleanup(): Promise<void> {
      const client = new pg.Client({ connectionString: env.db });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(config.schema!)} CASCADE`);
      await client.end();
    },
  };
}
