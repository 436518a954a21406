import pg from "pg";
import { ServerError, type ShareRecord, type ShareStore } from "@ferry/server-core";
import { describePgFailure, migrate, redact } from "./pg-catalog.js";

const HANDLE = /^[0-9a-f]{12,64}$/;

/**
 * Share links in PostgreSQL, shared by every server of a cluster: a link made through one server
 * opens through any, and its counters are single UPDATEs whose WHERE holds the limit, so the last
 * download of a link is served once however many servers are asked for it at the same moment.
 */
export class PgShareStore implements ShareStore {
  readonly #pool: pg.Pool;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Connects (a small pool of its own) and migrates the schema; STORAGE_UNUSABLE with one line if it cannot. */
  static async open(url: string, options: { schema?: string } = {}): Promise<PgShareStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: 4,
      connectionTimeoutMillis: 5_000,
      application_name: `ferry-server ${process.pid}`,
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    });
    pool.on("error", () => undefined);
    try {
      if (options.schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(options.schema)}`);
      await migrate(pool);
      return new PgShareStore(pool);
    } catch (cause) {
      await pool.end().catch(() => undefined);
      throw new ServerError(`database ${redact(url)} is unusable for share links: ${describePgFailure(cause)}`, { code: "STORAGE_UNUSABLE", cause });
    }
  }

  async create(r: ShareRecord): Promise<void> {
    await this.#query(
      `INSERT INTO shares (key, owner, kind, paths, created_at, expires_at, max_downloads, downloads, password, max_bytes, max_files, uploaded_bytes, uploaded_files)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [r.key, r.owner, r.kind, JSON.stringify(r.paths), r.createdAt, r.expiresAt, r.maxDownloads, r.downloads, r.password, r.maxBytes, r.maxFiles, r.uploadedBytes, r.uploadedFiles],
    );
  }

  async get(key: string): Promise<ShareRecord | undefined> {
    const { rows } = await this.#query("SELECT * FROM shares WHERE key = $1", [key]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async list(owner: string | null): Promise<ShareRecord[]> {
    const { rows } = await this.#query("SELECT * FROM shares WHERE owner IS NOT DISTINCT FROM $1 ORDER BY created_at, key", [owner]);
    return rows.map(toRecord);
  }

  async remove(owner: string | null, handle: string): Promise<ShareRecord | undefined> {
    if (!HANDLE.test(handle)) return undefined;
    // One statement: deletes only when the prefix names exactly one of the owner's links.
    const { rows } = await this.#query(
      `DELETE FROM shares WHERE key = (
         SELECT min(key) FROM shares WHERE owner IS NOT DISTINCT FROM $1 AND starts_with(key, $2)
         HAVING count(*) = 1
       ) RETURNING *`,
      [owner, handle],
    );
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async countDownload(key: string, now: number): Promise<boolean> {
    const { rowCount } = await this.#query(
      `UPDATE shares SET downloads = downloads + 1
       WHERE key = $1 AND expires_at > $2 AND (max_downloads IS NULL OR downloads < max_downloads)`,
      [key, now],
    );
    return rowCount === 1;
  }

  async countUpload(key: string, bytes: number, now: number): Promise<boolean> {
    const { rowCount } = await this.#query(
      `UPDATE shares SET uploaded_files = uploaded_files + 1, uploaded_bytes = uploaded_bytes + $3
       WHERE key = $1 AND expires_at > $2
         AND (max_files IS NULL OR uploaded_files + 1 <= max_files)
         AND (max_bytes IS NULL OR uploaded_bytes + $3 <= max_bytes)`,
      [key, now, bytes],
    );
    return rowCount === 1;
  }

  async sweep(before: number): Promise<number> {
    const { rowCount } = await this.#query("DELETE FROM shares WHERE expires_at < $1", [before]);
    return rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  async #query(text: string, values: unknown[]): Promise<pg.QueryResult> {
    try {
      return await this.#pool.query(text, values);
    } catch (cause) {
      throw new ServerError(`share links: ${describePgFailure(cause)}`, { code: "STORAGE_ERROR", cause });
    }
  }
}

function nullable(value: unknown): number | null {
  return value === null ? null : Number(value);
}

function toRecord(row: Record<string, unknown>): ShareRecord {
  return {
    key: row["key"] as string,
    owner: row["owner"] as string | null,
    kind: row["kind"] as ShareRecord["kind"],
    paths: row["paths"] as string[],
    createdAt: Number(row["created_at"]),
    expiresAt: Number(row["expires_at"]),
    maxDownloads: nullable(row["max_downloads"]),
    downloads: Number(row["downloads"]),
    password: row["password"] as string | null,
    maxBytes: nullable(row["max_bytes"]),
    maxFiles: nullable(row["max_files"]),
    uploadedBytes: Number(row["uploaded_bytes"]),
    uploadedFiles: Number(row["uploaded_files"]),
  };
}
