import { open, readFile, rename, type FileHandle } from "node:fs/promises";
import path from "node:path";

/** What the server knows about a file it published: enough to list it without re-hashing. */
export interface IndexEntry {
  size: number;
  /** Modification time in ms, as stat reported it right after publishing. */
  mtime: number;
  sha256: string;
}

/** File holding the index, inside the storage root (the reserved prefix keeps it from clients). */
export const INDEX_FILE = ".ferry-index.jsonl";

type Line = { name: string } & (IndexEntry | { deleted: true });

/**
 * SHA-256 and size of every published file, kept in memory and in an append-only JSON-lines log
 * that is compacted at start-up. It is a cache: an entry is trusted only while the file's size and
 * mtime still match, so a file changed behind the server's back lists with sha256 null rather
 * than a stale hash, and a lost log only costs hashes, never files.
 */
export class StorageIndex {
  readonly #entries = new Map<string, IndexEntry>();
  #log: FileHandle | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  /** Lines waiting for the queued write. */
  #pending: string[] = [];

  private constructor() {}

  static async load(dir: string): Promise<StorageIndex> {
    const index = new StorageIndex();
    const file = path.join(dir, INDEX_FILE);
    const text = await readFile(file, "utf8").catch(() => "");
    for (const raw of text.split("\n")) {
      if (!raw) continue;
      try {
        const line = JSON.parse(raw) as Line;
        if ("deleted" in line) index.#entries.delete(line.name);
        else index.#entries.set(line.name, { size: line.size, mtime: line.mtime, sha256: line.sha256 });
      } catch {
        // a torn last line after a crash: skip it
      }
    }
    // Compact: one line per live entry, written aside and renamed over the old log.
    const compacted = [...index.#entries].map(([name, e]) => `${JSON.stringify({ name, ...e })}\n`).join("");
    await writeAtomically(file, compacted);
    index.#log = await open(file, "a", 0o644);
    return index;
  }

  /** The recorded SHA-256, if the file still has the size and mtime it was published with. */
  lookup(name: string, size: number, mtime: number): string | null {
    const entry = this.#entries.get(name);
    return entry && entry.size === size && entry.mtime === mtime ? entry.sha256 : null;
  }

  record(name: string, entry: IndexEntry): void {
    this.#entries.set(name, entry);
    this.#append({ name, ...entry });
  }

  forget(name: string): void {
    if (this.#entries.delete(name)) this.#append({ name, deleted: true });
  }

  async close(): Promise<void> {
    await this.#tail;
    await this.#log?.close();
    this.#log = undefined;
  }

  #append(line: Line): void {
    const log = this.#log;
    if (!log) return;
    this.#pending.push(`${JSON.stringify(line)}\n`);
    if (this.#pending.length > 1) return; // a write is already queued; it takes this line too
    // Serialised so lines never interleave; lines recorded while a write runs go out together
    // in the next one (one append per burst of small files, not one per file). Failures only
    // lose cache lines.
    this.#tail = this.#tail
      .then(() => {
        const text = this.#pending.join("");
        this.#pending = [];
        return log.appendFile(text);
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
