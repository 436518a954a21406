/**
 * The bytes seam (docs/scale-out.md): an object store that holds each file's bytes under a key the
 * catalog gives it. Objects are written once and never changed; a name moves to new bytes by the
 * catalog pointing it at a new object. S3BlobStore is the implementation (any S3 API: OpenStack
 * Swift's s3api, Ceph RGW, MinIO, AWS); the contract suite in blob-store.contract.ts runs against it.
 */
export interface BlobStore {
  /** What it is, for people ("s3://bucket at http://host:port"). Never holds credentials. */
  readonly location: string;
  /** Throws STORAGE_UNUSABLE (with what is wrong: unreachable, credentials, bucket) unless it can be used. */
  check(): Promise<void>;
  /** Stores a whole object in one request, its integrity checked by the store (Content-MD5). */
  put(key: string, body: Buffer): Promise<void>;
  /** Starts an object written in parts; invisible until completed. Returns the upload's id. */
  begin(key: string): Promise<string>;
  /** Writes part `number` (1…) of an upload, checked by the store (Content-MD5); returns its ETag. */
  putPart(key: string, uploadId: string, number: number, body: Buffer): Promise<string>;
  /** Makes the object visible, whole, at once. */
  complete(key: string, uploadId: string, parts: readonly PartRecord[]): Promise<void>;
  /** Drops an unfinished upload and its parts. Unknown uploads are not an error. */
  abort(key: string, uploadId: string): Promise<void>;
  /** The bytes [start, end) of an object, streamed. */
  read(key: string, start: number, end: number): Promise<AsyncIterable<Uint8Array>>;
  /** Deletes an object; a missing one is not an error. */
  delete(key: string): Promise<void>;
  /** Unfinished uploads started before `before` (the sweeper aborts those no session owns). */
  unfinished(before: Date): Promise<{ key: string; uploadId: string }[]>;
  /** Objects last written before `before` (the sweeper deletes those no name points at). */
  objects(before: Date): Promise<string[]>;
  /** Releases connections. */
  close(): void;
}

export interface PartRecord {
  number: number;
  etag: string;
}
