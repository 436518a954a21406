import { link, lstat, mkdir, open, readdir, realpath, unlink } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileNameProblem } from "@ferry/protocol";
import { ServerError } from "./errors.js";
import { BufferedFile } from "./buffered-file.js";
import { StreamedFile, TEMP_PREFIX, type IncomingFile } from "./incoming-file.js";

const MAX_NAME_BYTES = 255;
// Give up on finding a free "name (N)" after this many tries rather than loop for ever.
const MAX_PUBLISH_ATTEMPTS = 10_000;
/** Uploads up to this size are buffered in memory (see BufferedFile); at most 32 per connection wait. */
const SMALL_FILE_BYTES = 64 * 1024;

/**
 * The one directory the server writes to. Names are checked before they are joined to the root,
 * and publishing uses link(2), which fails if the final name exists: a file that appeared
 * meanwhile is never clobbered, and a half-written file is never visible under a final name.
 */
export class StorageRoot {
  readonly dir: string;
  readonly #fsync: boolean;
  #nextRawIndex = 0;
  // Temp names: a random prefix per server run plus a counter, so no entropy is drawn per file;
  // O_EXCL still refuses any name that exists.
  readonly #tempPrefix = randomBytes(6).toString("hex");
  #tempCounter = 0;

  private constructor(dir: string, fsync: boolean) {
    this.dir = dir;
    this.#fsync = fsync;
  }

  /** Creates the directory if missing, resolves it, and sweeps temporary files a crash left. */
  static async open(dir: string, options: { fsync: boolean }): Promise<StorageRoot> {
    try {
      await mkdir(dir, { recursive: true, mode: 0o755 });
      // A symlinked root can be re-pointed under a running server, and a world-writable one lets
      // other local users plant files or links beside ours: refuse both rather than serve.
      const info = await lstat(dir);
      if (info.isSymbolicLink()) throw new Error(`${dir} is a symbolic link; give the real directory`);
      if (!info.isDirectory()) throw new Error(`${dir} is not a directory`);
      if ((info.mode & 0o002) !== 0) throw new Error(`${dir} is writable by other users (chmod o-w to fix)`);
      const real = await realpath(dir);
      const root = new StorageRoot(real, options.fsync);
      await root.#sweepTemps();
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
   * A new temporary file for an upload of `size` bytes (null: unknown, as for raw uploads).
   * Small known sizes are buffered and written in one go at the end; the rest are streamed.
   */
  async createIncoming(size: number | null): Promise<IncomingFile> {
    const tempPath = path.join(this.dir, `${TEMP_PREFIX}${this.#tempPrefix}-${(this.#tempCounter++).toString(36)}`);
    if (size !== null && size <= SMALL_FILE_BYTES) return new BufferedFile(tempPath);
    return StreamedFile.create(tempPath);
  }

  /**
   * Publishes a finished temp file under `name`, or `name (1).ext`, `name (2).ext`… if taken.
   * Returns the name actually used.
   */
  publish(tempPath: string, name: string): Promise<string> {
    const problem = fileNameProblem(name);
    if (problem) return Promise.reject(new ServerError(problem, { code: "BAD_NAME" }));
    return this.#publishFirstFree(tempPath, (n) => (n === 0 ? name : numberedName(name, n)));
  }

  /** Publishes a raw upload as output<N>.txt with the lowest free N (the lab's naming). */
  async publishRaw(tempPath: string): Promise<string> {
    const start = this.#nextRawIndex;
    const used = await this.#publishFirstFree(tempPath, (n) => `output${start + n}.txt`);
    this.#nextRawIndex = Number(/\d+/.exec(used)![0]) + 1;
    return used;
  }

  async #publishFirstFree(tempPath: string, candidate: (attempt: number) => string): Promise<string> {
    for (let attempt = 0; attempt < MAX_PUBLISH_ATTEMPTS; attempt++) {
      const name = candidate(attempt);
      const finalPath = this.#resolve(name);
      try {
        await link(tempPath, finalPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
        throw new ServerError(`cannot publish ${name}: ${(error as Error).message}`, {
          code: "STORAGE_ERROR",
          cause: error,
        });
      }
      await unlink(tempPath).catch(() => undefined);
      if (this.#fsync) await this.#syncDir();
      return name;
    }
    throw new ServerError("no free name left", { code: "STORAGE_ERROR" });
  }

  /** Joins a checked base name to the root and proves the result is a direct child of it. */
  #resolve(name: string): string {
    const full = path.join(this.dir, name);
    if (path.dirname(full) !== this.dir || path.basename(full) !== name) {
      throw new ServerError(`refusing path outside the storage dir: ${JSON.stringify(name)}`, { code: "BAD_NAME" });
    }
    return full;
  }

  // The directory entry must be durable too, or a power cut can lose a file we acknowledged.
  async #syncDir(): Promise<void> {
    const handle = await open(this.dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async #sweepTemps(): Promise<void> {
    for (const entry of await readdir(this.dir)) {
      if (entry.startsWith(TEMP_PREFIX)) await unlink(path.join(this.dir, entry)).catch(() => undefined);
    }
  }
}

/** "a.txt" → "a (n).txt"; ".bashrc" → ".bashrc (n)"; trims the stem to stay within 255 bytes. */
export function numberedName(name: string, n: number): string {
  const dot = name.lastIndexOf(".");
  const hasExt = dot > 0;
  let stem = hasExt ? name.slice(0, dot) : name;
  const ext = hasExt ? name.slice(dot) : "";
  const suffix = ` (${n})`;
  while (stem.length > 1 && Buffer.byteLength(stem + suffix + ext, "utf8") > MAX_NAME_BYTES) {
    stem = Array.from(stem).slice(0, -1).join("");
  }
  return `${stem}${suffix}${ext}`;
}
