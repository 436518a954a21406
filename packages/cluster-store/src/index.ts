export { ClusterStorage, type ClusterOptions } from "./cluster-storage.js";
export { S3BlobStore, type S3Options } from "./s3-blob-store.js";
export { PgCatalog } from "./pg-catalog.js";
export type { BlobStore, PartRecord } from "./blob-store.js";
export type { Catalog, CatalogFile, CatalogPublished, Session, StoredObject } from "./catalog.js";
export { openClusterStorage, type ClusterConfig } from "./open.js";
export { PgShareStore } from "./pg-share-store.js";
