import { ClusterStorage, type ClusterOptions } from "./cluster-storage.js";
import { PgCatalog } from "./pg-catalog.js";
import { S3BlobStore, type S3Options } from "./s3-blob-store.js";

export interface ClusterConfig extends ClusterOptions {
  s3: S3Options;
  /** postgres://user:password@host:port/database */
  db: string;
  /** A PostgreSQL schema of its own (created if missing). Default: the connection's search_path. */
  schema?: string;
}

/**
 * Connects to both, checks them (the bucket is created if missing; an existing one is used as it
 * is), migrates the catalog, and returns the storage. STORAGE_UNUSABLE with one line naming what
 * failed: the object store (unreachable, which credential) or the database.
 */
export async function openClusterStorage(config: ClusterConfig): Promise<ClusterStorage> {
  const blobs = new S3BlobStore(config.s3);
  try {
    await blobs.check();
  } catch (error) {
    blobs.close();
    throw error;
  }
  let catalog: PgCatalog;
  try {
    catalog = await PgCatalog.open(config.db, config.schema ? { schema: config.schema } : {});
  } catch (error) {
    blobs.close();
    throw error;
  }
  return ClusterStorage.create(blobs, catalog, config);
}
