import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, rmdirSync, unlinkSync, type Stats } from "node:fs";
import { lstat, open, readdir, realpath, statfs, unlink } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { availableDigests, linkFirstFree, makeDirectories, publishWithPolicy, type PublishTarget } from "@ferry/node-io";
import { compareNames, folderMarker, isReservedName, listedDigest, pathProblem, quoteName, sameDigest, type ConflictPolicy, type DigestAlgorithm, type FileDigest, type ListEntry } from "@ferry/protocol";
import { ServerError } from "./errors.js";
import { SmallFile } from "./small-file.js";
import { StreamedFile, TEMP_PREFIX, type IncomingFile } from "./incoming-file.js";
import { StorageIndex } from "./storage-index.js";
import { DirectorySync } from "./directory-sync.js";
import { FsyncBatch } from "./fsync-batch.js";
import { ResumableFile } from "./resumable-file.js";
import { LocalReader } from "./local-reader.js";
import { Quota } from "./quota.js";
import { PartialTable, type PartialLedger } from "./partial-table.js";
import type { Facts, PartialHeader, Published, QuotaLedger, Storage, StoredReader } from "./storage.js";

export type { Facts, Published } from "./storage.js";

interface RootOptions {
  fsync: boolean;
  partialTtlMs?: number;
  maxPartials?: number;
  /** Told of every batch of fsyncs (metrics). */
  onFsync?: (files: number, durationMs: number) => void;
  /** A worker's root (`ferry-server --workers N`): what is kept across workers, kept by the primary. */
  shared?: SharedRootState;
}

/**
 * What a worker's storage root asks of the primary (@ferry/server-workers) instead of keeping it
 * itself, so guarantees hold across workers: resumable-upload locks and interrupted uploads, and
 * quota ledgers. The index log is shared through the file system; naming needs nothing, since
 * link(2) and rename(2) decide it in the kernel. Folders are named by their real path.
 */
export interface SharedRootState {
  partials(dir: string): PartialLedger;
  quota(dir: string, limit: number): Promise<QuotaLedger>;
}

/** Uploads up to this size are written synchronously as they arrive (see SmallFile). */
const SMALL_FILE_BYTES = 64 * 1024;

/**
 * The one directory the server writes to. Names are checked before they are joined to the root,
 * and publishing uses link(2), which fails if the final name exists: a file that appeared
 * meanwhile is never clobbered, and a half-written file is never visible under a final name.
 */
const FREE_SPACE_TTL_MS = 250;
// Linux PATH_MAX, including the terminating NUL.
const OS_PATH_MAX = 4096;

// Publishing's link, unlink and lstat are synchronous (docs/performance.md, "Synchronous metadata calls").
function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

function lstatQuietly(file: string): Stats | undefined {
  try {
    // A missing name is the usual answer (a new upload's name): no Error is built for it, which cost
    // ~10 µs a file in W2 through the CLI (docs/performance.md, "W2, third session").
    return lstatSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

export class StorageRoot implements Storage {
  /** One batch for the file and directory syncs of every upload on this root. */
  readonly #fsyncBatch: FsyncBatch;
  readonly #dirSync: DirectorySync;
  #free = { at: 0, bytes: 0 };
  #freeQuery: Promise<void> | undefined;
  readonly dir: string;
  readonly #fsync: boolean;
  #nextRawIndex = 0;
  // Temp names: a random prefix per server run plus a counter, so no entropy is drawn per file;
  // O_EXCL still refuses any name that exists.
  readonly #tempPrefix = randomBytes(6).toString("hex");
  #tempCounter = 0;
  /** Resumable uploads here: received now and waiting to be resumed (this process's, or the primary's). */
  readonly #partials: PartialLedger;
  /** Folders inside this root that are roots of their own (users' folders), by "path/" prefix. */
  readonly #subRoots = new Map<string, StorageRoot>();

  readonly #index: StorageIndex;
  readonly #options: RootOptions;
  /** `dir` with one trailing separator: what every path inside the root starts with. */
  readonly #insidePrefix: string;

  private constructor(dir: string, options: RootOptions, index: StorageIndex) {
    this.dir = dir;
    this.#insidePrefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
    this.#options = options;
    this.#fsyncBatch = new FsyncBatch(options.onFsync);
    this.#dirSync = new DirectorySync(this.#fsyncBatch);
    this.#fsync = options.fsync;
    this.#index = index;
    this.#partials = options.shared ? options.shared.partials(dir) : new PartialTable(dir, options.maxPartials);
  }

  get location(): string {
    return this.dir;
  }

  /** Both: a resumed upload's whole-file hash is rebuilt from the bytes on disk in any algorithm. */
  get digests(): readonly DigestAlgorithm[] {
    return availableDigests();
  }

  /** Creates the directory if missing, resolves it, and sweeps temporary files a crash left. */
  /**
   * `within`: the real path of a root this one must lie inside (a user's folder under the server's
   * root). `maxPartials`: resumable uploads kept here at once (default: unbounded).
   */
  static async open(dir: string, options: RootOptions & { within?: string }): Promise<StorageRoot> {
    try {
      makeDirectories(dir);
      // A symlinked root can be re-pointed under a running server, and a world-writable one lets
      // other local users plant files or links beside ours: refuse both rather than serve.
      const info = await lstat(dir);
      if (info.isSymbolicLink()) throw new Error(`${dir} is a symbolic link; give the real directory`);
      if (!info.isDirectory()) throw new Error(`${dir} is not a directory`);
      if ((info.mode & 0o002) !== 0) throw new Error(`${dir} is writable by other users (chmod o-w to fix)`);
      const real = await realpath(dir);
      if (options.within !== undefined && !real.startsWith(options.within + path.sep)) {
        throw new Error(`${dir} resolves to ${real}, outside ${options.within}`);
      }
      const { within: _within, ...rootOptions } = options;
      const root = new StorageRoot(real, rootOptions, await StorageIndex.load(real, { shared: options.shared !== undefined }));
      // A worker's siblings are writing temp files here: the primary swept before they started.
      if (options.shared) return root;
      await root.#sweepTemps();
      if (options.partialTtlMs !== undefined) await root.#partials.sweep(options.partialTtlMs);
      return root;
    } catch (cause) {
      if (cause instanceof ServerError) throw cause;
      throw new ServerError(`storage directory ${dir} is unusable: ${(cause as Error).message}`, {
        code: "STORAGE_UNUSABLE",
        cause,
      });
    }
  }

  /**
   * The partial upload for `key` (created if new) and the offset it verifiably holds. One
   * connection at a time: a second one gets IN_PROGRESS until the first suspends or finishes.
   */
  async openResumable(key: string, header: PartialHeader, algorithm: DigestAlgorithm = "sha256"): Promise<{ file: ResumableFile; offset: number }> {
    await this.#partials.claim(key);
    try {
      return await ResumableFile.open(this.dir, key, header, algorithm, {
        onClose: () => this.#partials.closed(key),
        onSuspend: (bytes) => this.#partials.suspended(key, bytes),
      });
    } catch (error) {
      this.#partials.unclaim(key);
      throw error;
    }
  }

  /** This folder's resumable uploads: what a primary answers its workers with (not its users' folders). */
  get partials(): PartialLedger {
    return this.#partials;
  }

  /** Bytes held by partial uploads waiting to be resumed, but for the one with key `except` (this process's table). */
  waitingPartialBytes(except?: string): number {
    return this.#partials instanceof PartialTable ? this.#partials.waitingBytes(except) : 0;
  }

  /** Deletes partial uploads untouched for `ttlMs` (and not being received now); counts the others. */
  async sweepPartials(ttlMs: number): Promise<number> {
    let swept = await this.#partials.sweep(ttlMs);
    for (const folder of this.#subRoots.values()) swept += await folder.sweepPartials(ttlMs);
    return swept;
  }

  /**
   * A new temporary file for an upload of `size` bytes (null: unknown, as for raw uploads).
   * Small known sizes are written synchronously as they arrive; the rest are streamed.
   */
  async createIncoming(size: number | null, algorithm: DigestAlgorithm = "sha256"): Promise<IncomingFile> {
    if (size !== null && size <= SMALL_FILE_BYTES) return this.createSmall(size, algorithm);
    return StreamedFile.create(this.#tempPath(), size, algorithm);
  }

  /** A small upload (≤ 64 KiB), written synchronously as its bytes arrive (see SmallFile). */
  createSmall(size: number, algorithm: DigestAlgorithm = "sha256"): SmallFile {
    if (size > SMALL_FILE_BYTES) throw new ServerError(`${size} bytes is too large for a small file`, { code: "BAD_STATE" });
    return new SmallFile(this.#tempPath(), this.#fsyncBatch, algorithm);
  }

  #tempPath(): string {
    return path.join(this.dir, `${TEMP_PREFIX}${this.#tempPrefix}-${(this.#tempCounter++).toString(36)}`);
  }

  /**
   * Publishes a finished temp file under `name` following `policy` (see docs/protocol.md §6):
   * rename → `name (1).ext`… when taken; fail → ALREADY_EXISTS; skip → leave the existing file;
   * overwrite → atomic rename(2) over it, so readers see the old file or the new one, never a mix.
   */
  async publish(file: IncomingFile, name: string, policy: ConflictPolicy, facts: Facts, skipIdentical = false): Promise<Published> {
    const tempPath = localTempPath(file);
    const folder = folderMarker(name);
    if (folder !== null) return this.#makeFolder(tempPath, folder, name);
    // Everything up to the link is synchronous: callers that publish one call after another take
    // their names in that order (a batch's files, protocol.md §4.5).
    this.#checked(name);
    if (skipIdentical && this.#holdsIdentical(name, facts)) {
      unlinkQuietly(tempPath);
      return { name, outcome: "unchanged" };
    }
    const madeIn = this.#parents(name, { create: true });
    const published = this.#storageCall(`cannot publish ${name}`, () => publishWithPolicy(this.#target(tempPath), name, policy));
    if (published === "exists") throw new ServerError(`${name} already exists`, { code: "ALREADY_EXISTS" });
    if (published === "not-a-file") {
      throw new ServerError(`${name} is a symbolic link, a folder or another non-file here; it is never replaced`, { code: "BAD_NAME" });
    }
    // A folder made for this file is durable only once its own entry is synced in its parent.
    if (this.#fsync) for (const parent of madeIn) await this.#dirSync.sync(parent);
    if (published.outcome !== "skipped") await this.#afterPublish(published.name, facts, file.mtimeMs);
    return published;
  }

  /**
   * A folder entry ("dir/", capability empty-folders): the folder and its parents are made (a
   * component that is a file or a link is BAD_NAME, as for any path) and their entries synced.
   * "unchanged" when it was there already. The upload's empty temp file goes.
   */
  async #makeFolder(tempPath: string, folder: string, name: string): Promise<Published> {
    this.#checked(folder);
    unlinkQuietly(tempPath);
    const existed = lstatQuietly(this.#resolve(folder))?.isDirectory() ?? false;
    // #parents makes every folder above a path: ask for one just inside this folder.
    const madeIn = this.#parents(`${folder}/x`, { create: true });
    if (this.#fsync) for (const parent of madeIn) await this.#dirSync.sync(parent);
    return { name, outcome: existed ? "unchanged" : "created" };
  }

  /** Removes the empty folder `folder` (and parents it leaves empty), durably as remove() does; NOT_FOUND unless it is one. */
  async removeFolder(folder: string): Promise<void> {
    const full = this.#checked(folder);
    this.#parents(`${folder}/x`, { create: false });
    try {
      rmdirSync(full);
    } catch {
      throw new ServerError(`${quoteName(`${folder}/`)} is not an empty folder here`, { code: "NOT_FOUND" });
    }
    const emptied = this.#pruneEmptyFolders(path.dirname(full));
    if (this.#fsync) await this.#dirSync.sync(emptied);
  }

  /**
   * Whether `name` is a regular file of `facts.size` bytes whose digest, recorded when it was
   * published and still valid (size and mtime unchanged since), is `facts.digest` (same algorithm). A file changed
   * behind the server's back has no valid record, so it is never taken for identical.
   */
  #holdsIdentical(name: string, facts: Facts): boolean {
    // The name first: a new file (the usual case of a folder upload) is not identical, and costs no
    // lstat of each folder above it (docs/performance.md, "W2, third session").
    let info: Stats | undefined;
    try {
      info = lstatQuietly(this.#resolve(name));
      if (!info?.isFile() || info.size !== facts.size) return false;
      this.#parents(name, { create: false }); // a folder along the path that is a link: not ours to compare
    } catch {
      return false;
    }
    return sameDigest(this.#recorded(name, info.size, Math.floor(info.mtimeMs)), facts.digest);
  }

  /** Publishes a raw upload as output<N>.txt with the lowest free N (the lab's naming). */
  async publishRaw(file: IncomingFile, facts: Facts): Promise<string> {
    const tempPath = localTempPath(file);
    const start = this.#nextRawIndex;
    const used = this.#storageCall("cannot publish a raw upload", () => linkFirstFree(this.#target(tempPath), (n) => `output${start + n}.txt`));
    this.#nextRawIndex = Number(/\d+/.exec(used)![0]) + 1;
    unlinkQuietly(tempPath);
    await this.#afterPublish(used, facts);
    return used;
  }

  /** Publishing's view of the root: candidate names become checked paths inside it. */
  #target(tempPath: string): PublishTarget {
    return { tempPath, resolve: (name) => this.#resolve(name) };
  }

  /**
   * Opens a stored file for reading; NOT_FOUND unless it is a regular file (links not followed).
   * The caller closes `fd`. Open and fstat are synchronous (docs/performance.md, "Synchronous metadata calls"): a folder
   * download asks for one per file. O_NONBLOCK: a FIFO
   * planted in the storage dir opens at once (and is refused) instead of waiting for a writer.
   */
  async openForRead(name: string): Promise<StoredReader> {
    const full = this.#checked(name);
    this.#parents(name, { create: false });
    let fd: number;
    try {
      fd = openSync(full, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      throw new ServerError(`${name} is not stored here`, { code: "NOT_FOUND" });
    }
    const info = fstatSync(fd);
    if (!info.isFile()) {
      closeSync(fd);
      throw new ServerError(`${name} is not a file`, { code: "NOT_FOUND" });
    }
    const mtime = Math.floor(info.mtimeMs);
    return new LocalReader(fd, { size: info.size, mtime, digest: this.#recorded(name, info.size, mtime) });
  }

  /**
   * Every stored file under folder `prefix` (default: all), as paths relative to the root, sorted,
   * with the SHA-256 recorded when it was published. Symlinks and Ferry's own files are skipped.
   */
  async list(prefix?: string, options: { emptyFolders?: boolean } = {}): Promise<ListEntry[]> {
    let start = this.dir;
    if (prefix !== undefined) {
      start = this.#checked(prefix);
      this.#parents(prefix, { create: false });
      const info = await lstat(start).catch(() => undefined);
      if (!info?.isDirectory()) throw new ServerError(`${prefix} is not a folder here`, { code: "NOT_FOUND" });
    }
    const entries: ListEntry[] = [];
    const folders = [start];
    let sinceYield = 0;
    for (let folder = folders.pop(); folder !== undefined; folder = folders.pop()) {
      const children = (await readdir(folder, { withFileTypes: true })).filter((entry) => !isReservedName(entry.name));
      if (options.emptyFolders && children.length === 0 && folder !== start) {
        // An empty folder (capability empty-folders): "path/", so a client can make it again.
        const info = lstatSync(folder, { throwIfNoEntry: false });
        const name = `${path.relative(this.dir, folder).split(path.sep).join("/")}/`;
        if (info?.isDirectory()) entries.push({ name, size: 0, mtime: Math.floor(info.mtimeMs), ...listedDigest(null) });
      }
      for (const entry of children) {
        const full = path.join(folder, entry.name);
        if (entry.isDirectory()) folders.push(full);
        if (!entry.isFile()) continue; // symlinks, sockets, devices: never listed, never followed
        // Synchronous lstat (docs/performance.md, "Synchronous metadata calls"), in slices of 1,000 so
        // other connections are served between them.
        if (++sinceYield % 1_000 === 0) await new Promise((resolve) => setImmediate(resolve));
        const info = lstatSync(full, { throwIfNoEntry: false });
        if (!info?.isFile()) continue;
        const name = path.relative(this.dir, full).split(path.sep).join("/");
        const mtime = Math.floor(info.mtimeMs);
        entries.push({ name, size: info.size, mtime, ...listedDigest(this.#recorded(name, info.size, mtime)) });
      }
    }
    return entries.sort((a, b) => compareNames(a.name, b.name));
  }

  /** Deletes a stored file; NOT_FOUND unless it is a regular file. */
  async remove(name: string): Promise<number> {
    const full = this.#checked(name);
    this.#parents(name, { create: false });
    const info = await lstat(full).catch(() => undefined);
    if (!info?.isFile()) throw new ServerError(`${name} is not stored here`, { code: "NOT_FOUND" });
    await this.#fs(`cannot delete ${name}`, () => unlink(full));
    const owner = this.#owner(name);
    owner.root.#index.forget(owner.name);
    const emptied = this.#pruneEmptyFolders(path.dirname(full));
    if (this.#fsync) await this.#dirSync.sync(emptied);
    return info.size;
  }

  /**
   * After a delete: folders left empty go too, up to (not including) the root, since a listing
   * shows files only and an empty folder could never be seen or removed (protocol.md §4.3).
   * Returns the folder whose entries changed last, the one to sync. rmdir(2) refuses a folder that
   * is not empty, so a file stored there meanwhile is never lost.
   */
  #pruneEmptyFolders(folder: string): string {
    let dir = folder;
    while (dir !== this.dir && dir.startsWith(this.dir + path.sep)) {
      try {
        rmdirSync(dir);
      } catch {
        break; // not empty (or gone): what is above it stays
      }
      dir = path.dirname(dir);
    }
    return dir;
  }

  /** Writes, syncs and removes a probe file: throws (STORAGE_ERROR) unless the directory takes files now. */
  async probe(): Promise<void> {
    const probe = path.join(this.dir, `${TEMP_PREFIX}probe-${this.#tempPrefix}-${(this.#tempCounter++).toString(36)}`);
    await this.#fs("the storage directory does not take files", async () => {
      const handle = await open(probe, "wx", 0o600);
      try {
        await handle.writeFile("ferry");
        await handle.sync();
      } finally {
        await handle.close();
        await unlink(probe).catch(() => undefined);
      }
    });
  }

  resumableInProgress(): number {
    let count = this.#partials.activeCount();
    for (const folder of this.#subRoots.values()) count += folder.resumableInProgress();
    return count;
  }

  /** Bytes an unprivileged writer may still put on this file system. */
  async freeBytes(): Promise<number> {
    const stats = await this.#fs("cannot read free space", () => statfs(this.dir));
    return stats.bavail * stats.bsize;
  }

  /**
   * Throws NO_SPACE unless `size` more bytes leave at least `minFree` free. statfs is asked at
   * most every FREE_SPACE_TTL_MS; in between, the sizes admitted since are subtracted from its
   * answer, so a burst of small uploads costs one syscall, not one each (W2: 10,000 files).
   */
  async ensureRoom(size: number, minFree: number): Promise<void> {
    if (Date.now() - this.#free.at > FREE_SPACE_TTL_MS) {
      // Uploads arriving together share one statfs rather than each asking.
      this.#freeQuery ??= this.freeBytes()
        .then((bytes) => void (this.#free = { at: Date.now(), bytes }))
        .finally(() => (this.#freeQuery = undefined));
      await this.#freeQuery;
    }
    const left = this.#free.bytes - size;
    if (left < minFree) {
      throw new ServerError(`not enough free disk space: ${size} bytes would leave ${Math.max(0, left)}, the server keeps ${minFree} free`, {
        code: "NO_SPACE",
      });
    }
    this.#free.bytes = left;
  }

  /**
   * A storage root opened for a folder inside this one (a user's folder): files under it are
   * recorded in its index, whoever stores them, so a user without a folder (who sees the whole
   * root) and the folder's own user see the same recorded SHA-256.
   */
  async folder(relative: string): Promise<StorageRoot> {
    const dir = path.join(this.dir, relative);
    if (dir === this.dir) return this;
    const inside = path.relative(this.dir, dir).split(path.sep).join("/");
    const known = this.#subRoots.get(`${inside}/`);
    if (known) return known;
    const folder = await StorageRoot.open(dir, { ...this.#options, within: this.dir });
    const real = path.relative(this.dir, folder.dir).split(path.sep).join("/");
    if (real !== "" && !real.startsWith("..")) this.#subRoots.set(`${real}/`, folder);
    return folder;
  }

  /** The quota ledger of this folder, measured now from its files. */
  quota(limit: number): Promise<QuotaLedger> {
    return this.#options.shared ? this.#options.shared.quota(this.dir, limit) : Quota.measure(this, limit);
  }

  /** The root whose index holds `name`, and the name relative to it. */
  #owner(name: string): { root: StorageRoot; name: string } {
    // The deepest folder wins when users' folders nest ("a/" and "a/b/").
    let best: [string, StorageRoot] | undefined;
    for (const entry of this.#subRoots) if (name.startsWith(entry[0]) && entry[0].length > (best?.[0].length ?? 0)) best = entry;
    return best ? { root: best[1], name: name.slice(best[0].length) } : { root: this, name };
  }

  #recorded(name: string, size: number, mtime: number): FileDigest | null {
    const owner = this.#owner(name);
    return owner.root.#index.lookup(owner.name, size, mtime);
  }

  /** Flushes the index logs (this root's and its users' folders'). */
  async close(): Promise<void> {
    for (const folder of this.#subRoots.values()) await folder.close();
    await this.#index.close();
  }

  /** `mtimeMs`: the file's, when its IncomingFile read it before closing; otherwise the published name is lstat'ed. */
  async #afterPublish(name: string, facts: Facts, mtimeMs?: number): Promise<void> {
    const full = this.#resolve(name);
    // The new entry lives in the file's own folder: that is the directory to make durable.
    if (this.#fsync) await this.#dirSync.sync(path.dirname(full));
    const mtime = mtimeMs ?? lstatQuietly(full)?.mtimeMs;
    const owner = this.#owner(name);
    if (mtime !== undefined) owner.root.#index.record(owner.name, { size: facts.size, mtime: Math.floor(mtime), digest: facts.digest });
  }

  /** Runs a synchronous storage call; a ServerError passes, anything else becomes STORAGE_ERROR. */
  #storageCall<T>(what: string, action: () => T): T {
    try {
      return action();
    } catch (cause) {
      if (cause instanceof ServerError) throw cause;
      throw new ServerError(`${what}: ${(cause as Error).message}`, { code: "STORAGE_ERROR", cause });
    }
  }

  async #fs<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (cause) {
      throw new ServerError(`${what}: ${(cause as Error).message}`, { code: "STORAGE_ERROR", cause });
    }
  }

  /** Throws BAD_NAME unless `name` can be stored here (rules of protocol.md §6 and the OS path limit). */
  checkName(name: string): void {
    this.#checked(name);
  }

  /** A client-supplied name or folder path, checked, as a path inside the root. */
  #checked(name: string): string {
    const problem = pathProblem(name);
    if (problem) throw new ServerError(problem, { code: "BAD_NAME" });
    return this.#resolve(name);
  }

  /** Joins a checked path to the root and proves the result stays inside it. */
  #resolve(name: string): string {
    // path.join normalises "." and ".." away and `dir` is a real path, so a prefix test decides what
    // path.relative would, without its two path.resolve calls (several per stored file in W2).
    const full = path.join(this.dir, name);
    const prefix = this.#insidePrefix;
    if (full.length === prefix.length || !full.startsWith(prefix) || full.startsWith("..", prefix.length)) {
      throw new ServerError(`refusing path outside the storage dir: ${quoteName(name)}`, { code: "BAD_NAME" });
    }
    // A path the protocol allows (≤ 4,096 bytes) can still overflow the OS limit once the root's
    // own path is in front of it; say so as a name problem instead of failing at link() time.
    if (Buffer.byteLength(full) >= OS_PATH_MAX) {
      throw new ServerError(`path too long for this server: with its storage directory it passes ${OS_PATH_MAX - 1} bytes`, { code: "BAD_NAME" });
    }
    return full;
  }

  /**
   * Checks (and with `create`, makes) every folder above `name`: each must be a real directory,
   * never a symlink, so a link planted in the storage dir cannot carry a write or read outside it.
   * Returns the folders whose new entries this made, so the caller can make them durable.
   *
   * Synchronous lstat and mkdir (docs/performance.md, "Synchronous metadata calls"); on its own this measured
   * within the noise for a folder of 10,000 files.
   */
  #parents(name: string, options: { create: boolean }): string[] {
    const created: string[] = [];
    if (!name.includes("/")) return created; // a top-level name has no folder to check
    let current = this.dir;
    for (const part of name.split("/").slice(0, -1)) {
      const parent = current;
      current = path.join(current, part);
      let info = lstatQuietly(current);
      if (!info && options.create) {
        try {
          mkdirSync(current, { mode: 0o755 });
          created.push(parent);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code !== "EEXIST") throw new ServerError(`cannot create folder ${part}: ${(error as Error).message}`, { code: "STORAGE_ERROR" });
        }
        info = lstatQuietly(current);
      }
      if (!info) throw new ServerError(`${name} is not stored here`, { code: "NOT_FOUND" });
      if (!info.isDirectory()) {
        throw new ServerError(`${quoteName(part)} in ${quoteName(name)} is not a folder`, {
          code: options.create ? "BAD_NAME" : "NOT_FOUND",
        });
      }
    }
    return created;
  }

  async #sweepTemps(): Promise<void> {
    for (const entry of await readdir(this.dir)) {
      if (entry.startsWith(TEMP_PREFIX)) await unlink(path.join(this.dir, entry)).catch(() => undefined);
    }
  }
}

/** The temp file of an upload this root created (its own kinds of IncomingFile all have one). */
function localTempPath(file: IncomingFile): string {
  if (!("tempPath" in file) || typeof file.tempPath !== "string") {
    throw new ServerError("an upload from another storage was handed to a local storage root", { code: "BAD_STATE" });
  }
  return file.tempPath;
}
