import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { open, readFile, rename, type FileHandle } from "node:fs/promises";
import path from "node:path";
import type { FileDigest } from "@ferry/protocol";

/** What the server knows about a file it published: enough to list it without re-hashing. */
export interface IndexEntry {
  size: number;
  /** Modification time in ms, as stat reported it right after publishing. */
  mtime: number;
  digest: FileDigest;
}

/** File holding the index, inside the storage root (the reserved prefix keeps it from clients). */
export const INDEX_FILE = ".ferry-index.jsonl";

/** A line of the log: a file's digest under the key of its algorithm ("sha256" or "blake3"), or its deletion. */
type Line = { name: string; size: number; mtime: number; sha256?: string; blake3?: string } | { name: string; deleted: true };

function lineOf(name: string, entry: IndexEntry): Line {
  return { name, size: entry.size, mtime: entry.mtime, [entry.digest.algorithm]: entry.digest.hex };
}

// The log is rewritten (compacted) while the server runs once it holds this many lines and more
// than twice as many as there are live entries: put/delete churn on one path grew it by ~4 KB per
// cycle, and only a restart compacted it.
const COMPACT_MIN_LINES = 1_000;

/**
 * Digest (SHA-256, or BLAKE3 for a file sent over a BLAKE3 connection) and size of every published file, kept in memory and in an append-only JSON-lines log
 * that is compacted at start-up and whenever it grows past twice the live entries. It is a cache: an entry is trusted only while the file's size and
 * mtime still match, so a file changed behind the server's back lists with sha256 null rather
 * than a stale hash, and a lost log only costs hashes, never files.
 */
export class StorageIndex {
  readonly #entries = new Map<string, IndexEntry>();
  readonly #file: string;
  #log: FileHandle | undefined;
  /**
   * Shared with other processes (`ferry-server --workers N`): every line is appended at once and
   * synchronously (another worker may list the file as soon as STORED is sent), lines others append
   * are read before each lookup, and the log is compacted only when the primary opens it.
   */
  #shared: { append: number; read: number; consumed: number; fresh: boolean } | undefined;
  /** Lines in the log file (written or queued) since it was last compacted. */
  #logLines = 0;
  #tail: Promise<unknown> = Promise.resolve();
  /** Lines waiting for the queued write. */
  #pending: string[] = [];

  private constructor(file: string) {
    this.#file = file;
  }

  /** Reads the log and compacts it; `shared`: the worker's way, neither compacted nor buffered (see #shared). */
  static async load(dir: string, options: { shared?: boolean } = {}): Promise<StorageIndex> {
    const file = path.join(dir, INDEX_FILE);
    const index = new StorageIndex(file);
    if (options.shared) {
      const append = openSync(file, "a", 0o644);
      index.#shared = { append, read: openSync(file, "r"), consumed: 0, fresh: false };
      index.#catchUp();
      return index;
    }
    index.#replay(await readFile(file, "utf8").catch(() => ""));
    await index.#compact();
    return index;
  }

  /** Applies complete lines of the log, in order. */
  #replay(text: string): void {
    for (const raw of text.split("\n")) {
      if (!raw) continue;
      try {
        const line = JSON.parse(raw) as Line;
        if ("deleted" in line) this.#entries.delete(line.name);
        else if (typeof line.sha256 === "string") this.#entries.set(line.name, { size: line.size, mtime: line.mtime, digest: { algorithm: "sha256", hex: line.sha256 } });
        else if (typeof line.blake3 === "string") this.#entries.set(line.name, { size: line.size, mtime: line.mtime, digest: { algorithm: "blake3", hex: line.blake3 } });
      } catch {
        // a torn last line after a crash: skip it
      }
    }
  }

  /**
   * Shared: applies the lines appended since the last look. Once per turn of the event loop: a
   * listing's thousands of lookups cost one fstat (6 µs here), and a request that follows another
   * worker's STORED always arrives in a later turn. docs/performance.md, "Every core".
   */
  #catchUp(): void {
    const shared = this.#shared!;
    if (shared.fresh) return;
    shared.fresh = true;
    queueMicrotask(() => (shared.fresh = false));
    const size = fstatSync(shared.read).size;
    if (size <= shared.consumed) return;
    const chunk = Buffer.allocUnsafe(size - shared.consumed);
    const got = readSync(shared.read, chunk, 0, chunk.length, shared.consumed);
    // Only whole lines are taken: one another process is still writing is read again next time.
    const end = chunk.subarray(0, got).lastIndexOf(0x0a) + 1;
    shared.consumed += end;
    this.#replay(chunk.toString("utf8", 0, end));
  }
  /** Rewrites the log as one line per live entry (written aside, renamed over it) and reopens it. */
  async #compact(): Promise<void> {
    const compacted = [...this.#entries].map(([name, e]) => `${JSON.stringify(lineOf(name, e))}\n`).join("");
    // Renamed over the log while its old handle is open (the handle keeps the old inode): if the
    // rewrite fails, appends go on to the old log.
    await writeAtomically(this.#file, compacted);
    await this.#log?.close();
    this.#log = await open(this.#file, "a", 0o644);
    // Lines still queued will be appended after the snapshot: they count toward the next compaction.
    this.#logLines = this.#entries.size + this.#pending.length;
  }

  /** The recorded digest, if the file still has the size and mtime it was published with. */
  lookup(name: string, size: number, mtime: number): FileDigest | null {
    if (this.#shared) this.#catchUp();
    const entry = this.#entries.get(name);
    return entry && entry.size === size && entry.mtime === mtime ? entry.digest : null;
  }

  record(name: string, entry: IndexEntry): void {
    this.#entries.set(name, entry);
    this.#append(lineOf(name, entry));
  }

  forget(name: string): void {
    if (this.#entries.delete(name)) this.#append({ name, deleted: true });
  }

  async close(): Promise<void> {
    if (this.#shared) {
      closeSync(this.#shared.append);
      closeSync(this.#shared.read);
      this.#shared = undefined;
      return;
    }
    await this.#tail;
    await this.#log?.close();
    this.#log = undefined;
  }

  #append(line: Line): void {
    if (this.#shared) {
      // One write(2) with O_APPEND: lines of several processes never interleave. Failures only lose cache lines.
      try {
        writeSync(this.#shared.append, `${JSON.stringify(line)}\n`);
      } catch {
        // the cache line is lost; the file is not
      }
      return;
    }
    if (!this.#log) return;
    this.#pending.push(`${JSON.stringify(line)}\n`);
    this.#logLines++;
    if (this.#pending.length > 1) return; // a write is already queued; it takes this line too
    // Serialised so lines never interleave; lines recorded while a write runs go out together
    // in the next one (one append per burst of small files, not one per file). Failures only
    // lose cache lines.
    this.#tail = this.#tail
      .then(async () => {
        const text = this.#pending.join("");
        this.#pending = [];
        await this.#log?.appendFile(text);
        // Lines queued meanwhile describe changes the snapshot already holds: replaying them is harmless.
        if (this.#logLines >= COMPACT_MIN_LINES && this.#logLines > 2 * this.#entries.size) await this.#compact();
      })
      .catch(() => undefined);
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, "w", 0o644);
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}
