import { describe, it } from "vitest";
import { storageContract } from "@ferry/server-core/storage-contract";
import { clusterEnv, freshCluster } from "./testing/cluster-env.js";

const env = clusterEnv();
if ("skipped" in env) {
  console.log(`skipped: cluster storage contract: ${env.skipped}`);
  describe.skip("Storage contract: cluster (S3 + PostgreSQL)", () => it("needs Swift and PostgreSQL", () => undefined));
} else {
  // Parts of 5 MiB (S3's minimum), so the contract's 17 MiB interrupted upload commits three.
  storageContract("cluster (S3 + PostgreSQL)", () => freshCluster(env, { partSize: 5 * 1024 * 1024 }), { viewsShareState: true, digests: ["sha256"] });
}
