import { randomBytes } from "node:crypto";
import { readFile, rename, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { ServerError } from "./errors.js";
import { TEMP_PREFIX } from "./incoming-file.js";
import { shareEnded, type ShareRecord } from "./share-links.js";
import { SHARE_HANDLE, type ShareStore } from "./share-store.js";

/** The file in the storage dir that holds the links (hidden by the reserved .ferry- prefix). */
export const SHARES_FILE = ".ferry-shares.json";

/**
 * Share links of one server on a local directory: kept in memory, written whole to
 * `.ferry-shares.json` (a temp file renamed over it, so a crash leaves the old or the new list)
 * after every change. Changes are serialised, so counters never race. A few thousand links is a
 * few hundred KiB; a deployment with more runs the cluster backend's table.
 */
export class LocalShareStore implements ShareStore {
  readonly #file: string;
  readonly #links: Map<string, ShareRecord>;
  #writing: Promise<void> = Promise.resolve();

  private constructor(file: string, links: Map<string, ShareRecord>) {
    this.#file = file;
    this.#links = links;
  }

  /** Reads the links of the storage dir `dir` (none yet: an empty list). */
  static async open(dir: string): Promise<LocalShareStore> {
    const file = path.join(dir, SHARES_FILE);
    let records: ShareRecord[] = [];
    try {
      records = JSON.parse(await readFile(file, "utf8")) as ShareRecord[];
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new ServerError(`cannot read the share links in ${file}: ${(cause as Error).message}`, { code: "STORAGE_ERROR", cause });
      }
    }
    return new LocalShareStore(file, new Map(records.map((record) => [record.key, record])));
  }

  create(record: ShareRecord): Promise<void> {
    return this.#change(() => {
      this.#links.set(record.key, { ...record, paths: [...record.paths] });
    });
  }

  async get(key: string): Promise<ShareRecord | undefined> {
    const record = this.#links.get(key);
    return record && { ...record };
  }

  async list(owner: string | null): Promise<ShareRecord[]> {
    return [...this.#links.values()].filter((record) => record.owner === owner).sort((a, b) => a.createdAt - b.createdAt).map((record) => ({ ...record }));
  }

  async remove(owner: string | null, handle: string): Promise<ShareRecord | undefined> {
    if (!SHARE_HANDLE.test(handle)) return undefined;
    const matches = [...this.#links.values()].filter((record) => record.owner === owner && record.key.startsWith(handle));
    if (matches.length !== 1) return undefined;
    const [record] = matches as [ShareRecord];
    await this.#change(() => {
      this.#links.delete(record.key);
    });
    return record;
  }

  async countDownload(key: string, now: number): Promise<boolean> {
    let counted = false;
    await this.#change(() => {
      const record = this.#links.get(key);
      if (!record || shareEnded(record, now)) return false;
      record.downloads++;
      counted = true;
      return true;
    });
    return counted;
  }

  async countUpload(key: string, bytes: number, now: number): Promise<boolean> {
    let counted = false;
    await this.#change(() => {
      const record = this.#links.get(key);
      if (!record || shareEnded(record, now)) return false;
      if (record.maxFiles !== null && record.uploadedFiles + 1 > record.maxFiles) return false;
      if (record.maxBytes !== null && record.uploadedBytes + bytes > record.maxBytes) return false;
      record.uploadedFiles++;
      record.uploadedBytes += bytes;
      counted = true;
      return true;
    });
    return counted;
  }

  async sweep(before: number): Promise<number> {
    let swept = 0;
    await this.#change(() => {
      for (const [key, record] of this.#links) {
        if (record.expiresAt < before) {
          this.#links.delete(key);
          swept++;
        }
      }
      return swept > 0;
    });
    return swept;
  }

  async close(): Promise<void> {
    await this.#writing;
  }

  /** Applies `change` (in order with every other) and writes the list if it changed something. */
  #change(change: () => boolean | void): Promise<void> {
    const next = this.#writing.then(async () => {
      if (change() === false) return;
      // A .ferry-tmp- name: the storage root sweeps what a crash leaves.
      const temp = path.join(path.dirname(this.#file), `${TEMP_PREFIX}shares-${randomBytes(6).toString("hex")}`);
      try {
        await writeFile(temp, JSON.stringify([...this.#links.values()]), { mode: 0o600 });
        await rename(temp, this.#file);
      } catch (cause) {
        await unlink(temp).catch(() => undefined);
        throw new ServerError(`cannot write the share links: ${(cause as Error).message}`, { code: "STORAGE_ERROR", cause });
      }
    });
    // A failed write fails its caller; the next change starts afresh.
    this.#writing = next.catch(() => undefined);
    return next;
  }
}
