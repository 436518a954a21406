import { folderMarker, pathProblem, type ConflictPolicy, type DigestAlgorithm, type ListEntry } from "@ferry/protocol";
import { ServerError, type Facts, type IncomingFile, type PartialHeader, type Published, type QuotaLedger, type Storage, type StoredReader } from "@ferry/server-core";
import type { BlobStore } from "./blob-store.js";
import { ByteBudget } from "./byte-budget.js";
import type { Catalog, StoredObject } from "./catalog.js";
import { ObjectReader } from "./object-reader.js";
import { newObjectKey, ObjectUpload, type UploadContext } from "./object-upload.js";

export interface ClusterOptions {
  /** Bytes of file data held in memory on their way to the store, server-wide. Default 256 MiB. */
  maxBufferedBytes?: number;
  /** Bytes per multipart part. Default 8 MiB (S3's minimum is 5 MiB). */
  partSize?: number;
  /** How long a replaced or deleted object stays for downloads already reading it. Default 1 h. */
  trashGraceMs?: number;
}

const MiB = 1024 * 1024;

/** What the root storage and its users' folders share. */
interface Shared extends UploadContext {
  trashGraceMs: number;
  folders: Map<string, ClusterStorage>;
}

/**
 * The Storage seam over a BlobStore (bytes) and a Catalog (names): what lets any number of
 * stateless servers share one store (docs/scale-out.md). An upload becomes an object under a random
 * key; publishing is one catalog transaction pointing the name at it; the object a name no longer
 * points at is deleted after a grace period. A user's folder is the same storage seen under a path
 * prefix (its "space").
 */
export class ClusterStorage implements Storage {
  readonly location: string;
  /**
   * SHA-256 only: a resumable session keeps its whole-file hash state in the catalog (hash-wasm's
   * save()) so another server can continue it, and BLAKE3's native hasher has no state to save.
   */
  readonly digests: readonly DigestAlgorithm[] = ["sha256"];
  readonly #shared: Shared;
  /** "" for the root, "alice/" for a user's folder. */
  readonly #space: string;
  #nextRaw = 0;

  private constructor(shared: Shared, space: string) {
    this.#shared = shared;
    this.#space = space;
    this.location = `${shared.blobs.location} + ${shared.catalog.location}${space ? ` (folder ${space})` : ""}`;
  }

  /** The root storage over `blobs` and `catalog` (both already checked and reachable). */
  static create(blobs: BlobStore, catalog: Catalog, options: ClusterOptions = {}): ClusterStorage {
    const shared: Shared = {
      blobs,
      catalog,
      budget: new ByteBudget(options.maxBufferedBytes ?? 256 * MiB),
      partSize: options.partSize ?? 8 * MiB,
      trashGraceMs: options.trashGraceMs ?? 3_600_000,
      folders: new Map(),
    };
    return new ClusterStorage(shared, "");
  }

  /** Bytes buffered on their way to the store now (all uploads of this server). */
  get bufferedBytes(): number {
    return this.#shared.budget.used;
  }

  checkName(name: string): void {
    const problem = pathProblem(name);
    if (problem) throw new ServerError(problem, { code: "BAD_NAME" });
  }

  /** The object store has no free-space figure to check against. */
  async ensureRoom(): Promise<void> {}

  async createIncoming(size: number | null, algorithm: DigestAlgorithm = "sha256"): Promise<IncomingFile> {
    onlySha256(algorithm);
    return ObjectUpload.create(this.#shared, size);
  }

  createSmall(size: number, algorithm: DigestAlgorithm = "sha256"): IncomingFile {
    onlySha256(algorithm);
    return ObjectUpload.create(this.#shared, size);
  }

  async openResumable(key: string, header: PartialHeader, algorithm: DigestAlgorithm = "sha256"): Promise<{ file: ObjectUpload; offset: number }> {
    onlySha256(algorithm);
    const { catalog, blobs } = this.#shared;
    if (!(await catalog.claim(key))) throw new ServerError("this upload is being sent on another connection", { code: "IN_PROGRESS" });
    try {
      let session = await catalog.session(key);
      const same = session && session.name === header.name && session.size === header.size && session.chunkSize === header.chunkSize && session.space === this.#space;
      if (session && !same) {
        await blobs.abort(session.object, session.uploadId).catch(() => undefined);
        session = undefined;
      }
      if (!session) {
        const object = newObjectKey();
        session = { key, space: this.#space, ...header, object, uploadId: await blobs.begin(object), offset: 0, parts: [], chunks: [], hashState: new Uint8Array() };
        await catalog.saveSession(session);
      }
      const file = await ObjectUpload.resume(this.#shared, session);
      return { file, offset: session.offset };
    } catch (error) {
      await catalog.unclaim(key).catch(() => undefined);
      throw error;
    }
  }

  async publish(file: IncomingFile, name: string, policy: ConflictPolicy, facts: Facts, skipIdentical = false): Promise<Published> {
    const upload = ownUpload(file);
    const folder = folderMarker(name);
    if (folder !== null) {
      this.checkName(folder);
      await this.#shared.blobs.delete(upload.key).catch(() => undefined);
      const outcome = await this.#shared.catalog.makeFolder(this.#space + folder);
      return { name, outcome };
    }
    this.checkName(name);
    const object = storedObject(upload.key, facts);
    let published;
    try {
      published = await this.#shared.catalog.publish(this.#space + name, object, policy, skipIdentical);
    } catch (error) {
      await this.#shared.blobs.delete(upload.key).catch(() => undefined);
      throw error;
    }
    if (published.outcome === "skipped" || published.outcome === "unchanged") await this.#trash(upload.key);
    if (published.replaced) await this.#trash(published.replaced);
    return { name: published.name.slice(this.#space.length), outcome: published.outcome };
  }

  async publishRaw(file: IncomingFile, facts: Facts): Promise<string> {
    const upload = ownUpload(file);
    const name = await this.#shared.catalog.publishFirstFree((n) => `${this.#space}output${n}.txt`, this.#nextRaw, storedObject(upload.key, facts));
    const relative = name.slice(this.#space.length);
    this.#nextRaw = Number(/\d+/.exec(relative)![0]) + 1;
    return relative;
  }

  async openForRead(name: string): Promise<StoredReader> {
    this.checkName(name);
    const found = await this.#shared.catalog.lookup(this.#space + name);
    if (!found) throw new ServerError(`${name} is not stored here`, { code: "NOT_FOUND" });
    return new ObjectReader(this.#shared.blobs, found);
  }

  async list(prefix?: string, options: { emptyFolders?: boolean } = {}): Promise<ListEntry[]> {
    if (prefix !== undefined) this.checkName(prefix);
    const folder = `${this.#space}${prefix ?? ""}`.replace(/\/$/, "");
    const entries = await this.#shared.catalog.list(folder, options.emptyFolders === true);
    return entries.map((entry) => ({ ...entry, name: entry.name.slice(this.#space.length) }));
  }

  async remove(name: string): Promise<number> {
    this.checkName(name);
    const removed = await this.#shared.catalog.remove(this.#space + name);
    await this.#trash(removed.key);
    return removed.size;
  }

  async removeFolder(folder: string): Promise<void> {
    this.checkName(folder);
    await this.#shared.catalog.removeFolder(this.#space + folder);
  }

  /**
   * Expired sessions are aborted (each by exactly one server: the catalog hands it to one), objects
   * past their grace are deleted, and unfinished uploads and objects nothing refers to (a server
   * that died between storing and publishing) go once they are older than `ttlMs`.
   */
  async sweepPartials(ttlMs: number): Promise<number> {
    const { catalog, blobs } = this.#shared;
    const expired = await catalog.takeExpiredSessions(ttlMs);
    for (const session of expired) await blobs.abort(session.object, session.uploadId).catch(() => undefined);
    for (const object of await catalog.takeTrash()) await blobs.delete(object).catch(() => undefined);
    const before = new Date(Date.now() - ttlMs);
    const unfinished = await blobs.unfinished(before);
    const owned = await catalog.referenced(unfinished.map((upload) => upload.key));
    for (const upload of unfinished) if (!owned.has(upload.key)) await blobs.abort(upload.key, upload.uploadId).catch(() => undefined);
    const objects = await blobs.objects(before);
    const used = await catalog.referenced(objects);
    for (const object of objects) if (!used.has(object)) await blobs.delete(object).catch(() => undefined);
    return expired.length;
  }

  async quota(limit: number): Promise<QuotaLedger> {
    const { catalog } = this.#shared;
    const space = this.#space;
    return {
      limit,
      async reserve(size: number, resuming?: string) {
        const id = await catalog.reserve(space, limit, size, resuming);
        let settled = false;
        return () => {
          if (settled) return;
          settled = true;
          // The stored bytes are already counted from the catalog; until this lands, they count twice (never under).
          void catalog.settle(id).catch(() => undefined);
        };
      },
      released() {
        // Used bytes are summed from the catalog: a deleted file stops counting by itself.
      },
      usedBytes: () => catalog.used(space),
    };
  }

  async folder(relative: string): Promise<ClusterStorage> {
    const trimmed = relative.replace(/^\.?\/+|\/+$/g, "");
    if (trimmed === "" || trimmed === ".") return this;
    this.checkName(trimmed);
    const space = `${this.#space}${trimmed}/`;
    let folder = this.#shared.folders.get(space);
    if (!folder) {
      folder = new ClusterStorage(this.#shared, space);
      this.#shared.folders.set(space, folder);
    }
    return folder;
  }

  /** Readiness: the catalog answers and the bucket can be listed. */
  async probe(): Promise<void> {
    await this.#shared.catalog.ping();
    await this.#shared.blobs.check();
  }

  /** An object store has no free-space figure. */
  async freeBytes(): Promise<null> {
    return null;
  }

  resumableInProgress(): number {
    return this.#shared.catalog.claimedCount();
  }

  async close(): Promise<void> {
    if (this.#space !== "") return;
    await this.#shared.catalog.close();
    this.#shared.blobs.close();
  }

  async #trash(object: string): Promise<void> {
    await this.#shared.catalog.trash(object, this.#shared.trashGraceMs).catch(() => undefined);
  }
}

function ownUpload(file: IncomingFile): ObjectUpload {
  if (!(file instanceof ObjectUpload)) throw new ServerError("an upload from another storage was handed to the cluster storage", { code: "BAD_STATE" });
  return file;
}

/** Connections negotiate only what `digests` names, so another algorithm here is a bug of ours. */
function onlySha256(algorithm: DigestAlgorithm): void {
  if (algorithm !== "sha256") throw new ServerError(`cluster storage receives SHA-256 uploads only, not ${algorithm}`, { code: "INTERNAL" });
}

/** The catalog's row for a published upload (its column is the SHA-256). */
function storedObject(key: string, facts: Facts): StoredObject {
  onlySha256(facts.digest.algorithm);
  return { key, size: facts.size, sha256: facts.digest.hex };
}
