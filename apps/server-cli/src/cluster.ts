import type { ServerConfig } from "@ferry/protocol";
import type { ShareStore, Storage } from "@ferry/server-core";

/**
 * Cluster storage for --s3-* and --db (docs/scale-out.md). Loaded only when asked for: the AWS SDK
 * and node-postgres stay out of a local server's memory (the bundle keeps them in a file of their
 * own, dist/cluster-store.mjs).
 */
export async function openCluster(config: ServerConfig): Promise<Storage> {
  // The SDK warns that releases after January 2027 need Node 22; this one is pinned (pnpm catalog).
  process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";
  const { openClusterStorage } = await import("@ferry/cluster-store");
  const s3 = config.s3!;
  const credentials = s3.accessKeyId && s3.secretAccessKey ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } : undefined;
  return openClusterStorage({
    s3: { endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region ?? process.env["AWS_REGION"] ?? "us-east-1", ...(credentials ? { credentials } : {}) },
    db: config.db!,
    maxBufferedBytes: config.maxBufferedBytes,
  });
}

/** The cluster's share links: a table in the same database, so every server serves every link. */
export async function openClusterShares(config: ServerConfig): Promise<ShareStore> {
  const { PgShareStore } = await import("@ferry/cluster-store");
  return PgShareStore.open(config.db!);
}
