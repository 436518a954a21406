import pg from "pg";
import { assertNever, numberedPath, quoteName, type ConflictPolicy, type ListEntry } from "@ferry/protocol";
import { ServerError } from "@ferry/server-core";
import type { Catalog, CatalogFile, CatalogPublished, Session, StoredObject } from "./catalog.js";
import { LOCK_SPACE, MIGRATIONS } from "./pg-schema.js";

type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

// Give up on finding a free "name (N)" after this many tries rather than loop for ever (as the local root does).
const MAX_NAME_ATTEMPTS = 10_000;

/** Live server connections: a holder (backend pid) not among them belongs to a server that is gone. */
const LIVE = "(SELECT pid FROM pg_stat_activity)";

/**
 * The catalog in PostgreSQL through node-postgres (pg): a pool for queries, and one dedicated
 * connection per server whose backend holds the advisory locks of the resumable sessions it is
 * receiving and is named (by its pid) as the holder of its quota reservations. When a server dies
 * its connection closes, PostgreSQL drops those locks, and its reservations stop counting: nothing
 * waits for a timeout (docs/scale-out.md, "Consistency rules").
 */
export class PgCatalog implements Catalog {
  readonly location: string;
  readonly #pool: pg.Pool;
  readonly #locks: pg.Client;
  readonly #holder: number;
  readonly #claimed = new Set<string>();

  private constructor(location: string, pool: pg.Pool, locks: pg.Client, holder: number) {
    this.location = location;
    this.#pool = pool;
    this.#locks = locks;
    this.#holder = holder;
  }

  /**
   * Connects, creates or migrates the schema, and returns the catalog. STORAGE_UNUSABLE with one
   * line if the database is unreachable or refuses the credentials. `schema`: a PostgreSQL schema
   * to use (created if missing; tests use one each); default the connection's own search_path.
   */
  static async open(url: string, options: { schema?: string; poolSize?: number } = {}): Promise<PgCatalog> {
    const location = redact(url);
    const config: pg.PoolConfig = {
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5_000,
      // Which server a backend serves, for operators (pg_stat_activity) and for tests waiting for a dead one's to go.
      application_name: `ferry-server ${process.pid}`,
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    };
    const pool = new pg.Pool(config);
    // An idle client losing its server (a restart) must not crash the process: the next query reconnects.
    pool.on("error", () => undefined);
    let locks: pg.Client | undefined;
    try {
      if (options.schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(options.schema)}`);
      await migrate(pool);
      locks = new pg.Client(config);
      locks.on("error", () => undefined);
      await locks.connect();
      const holder = (await locks.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
      return new PgCatalog(location, pool, locks, holder);
    } catch (cause) {
      await locks?.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
      throw new ServerError(`database ${location} is unusable: ${describePgFailure(cause)}`, { code: "STORAGE_UNUSABLE", cause });
    }
  }

  async lookup(path: string): Promise<CatalogFile | undefined> {
    const { rows } = await this.#query("SELECT path, object, size, sha256, mtime FROM files WHERE path = $1 AND kind = 'f'", [path]);
    return rows[0] ? toFile(rows[0]) : undefined;
  }

  publish(path: string, object: StoredObject, policy: ConflictPolicy, skipIdentical: boolean): Promise<CatalogPublished> {
    return this.#transaction(async (query) => {
      await lockTree(query, path);
      await checkParents(query, path, "BAD_NAME");
      const existing = (await query("SELECT kind, object, size, sha256 FROM files WHERE path = $1", [path])).rows[0] as
        | { kind: string; object: string | null; size: string; sha256: string | null }
        | undefined;
      if (skipIdentical && existing?.kind === "f" && Number(existing.size) === object.size && existing.sha256 === object.sha256) {
        return { name: path, outcome: "unchanged", replaced: null };
      }
      if (!existing && !(await hasDescendants(query, path))) {
        await insertFile(query, path, object);
        return { name: path, outcome: "created", replaced: null };
      }
      switch (policy) {
        case "rename":
          for (let n = 1; n <= MAX_NAME_ATTEMPTS; n++) {
            const candidate = numberedPath(path, n);
            if (await isFree(query, candidate)) {
              await insertFile(query, candidate, object);
              return { name: candidate, outcome: "renamed", replaced: null };
            }
          }
          throw new ServerError(`no free name for ${quoteName(path)} after ${MAX_NAME_ATTEMPTS} tries`, { code: "ALREADY_EXISTS" });
        case "overwrite":
          if (existing?.kind !== "f") {
            throw new ServerError(`${quoteName(path)} is a folder here; it is never replaced`, { code: "BAD_NAME" });
          }
          await query("UPDATE files SET object = $2, size = $3, sha256 = $4, mtime = $5 WHERE path = $1", [path, object.key, object.size, object.sha256, Date.now()]);
          return { name: path, outcome: "overwritten", replaced: existing.object };
        case "skip":
          return { name: path, outcome: "skipped", replaced: null };
        case "fail":
          throw new ServerError(`${path} already exists`, { code: "ALREADY_EXISTS" });
        default:
          return assertNever(policy);
      }
    });
  }

  publishFirstFree(name: (n: number) => string, start: number, object: StoredObject): Promise<string> {
    return this.#transaction(async (query) => {
      for (let n = start; n < start + MAX_NAME_ATTEMPTS; n++) {
        const candidate = name(n);
        await lockTree(query, candidate);
        if (await isFree(query, candidate)) {
          await insertFile(query, candidate, object);
          return candidate;
        }
      }
      throw new ServerError(`no free name after ${MAX_NAME_ATTEMPTS} tries`, { code: "ALREADY_EXISTS" });
    });
  }

  makeFolder(path: string): Promise<"created" | "unchanged"> {
    return this.#transaction(async (query) => {
      await lockTree(query, path);
      await checkParents(query, `${path}/x`, "BAD_NAME");
      const existing = (await query("SELECT kind FROM files WHERE path = $1", [path])).rows[0] as { kind: string } | undefined;
      if (existing?.kind === "d" || (await hasDescendants(query, path))) return "unchanged";
      await query("INSERT INTO files (path, kind, mtime) VALUES ($1, 'd', $2)", [path, Date.now()]);
      return "created";
    });
  }

  removeFolder(path: string): Promise<void> {
    return this.#transaction(async (query) => {
      await lockTree(query, path);
      const { rowCount } = await query(
        "DELETE FROM files WHERE path = $1 AND kind = 'd' AND NOT EXISTS (SELECT 1 FROM files WHERE path > $1 || '/' AND path < $1 || '0')",
        [path],
      );
      if (rowCount === 0) throw new ServerError(`${quoteName(`${path}/`)} is not an empty folder here`, { code: "NOT_FOUND" });
      await pruneFolders(query, path);
    });
  }

  remove(path: string): Promise<CatalogFile> {
    return this.#transaction(async (query) => {
      await lockTree(query, path);
      const { rows } = await query("DELETE FROM files WHERE path = $1 AND kind = 'f' RETURNING path, object, size, sha256, mtime", [path]);
      if (!rows[0]) throw new ServerError(`${path} is not stored here`, { code: "NOT_FOUND" });
      await pruneFolders(query, path);
      return toFile(rows[0]);
    });
  }

  async list(prefix: string, emptyFolders: boolean): Promise<ListEntry[]> {
    const folder = prefix.replace(/\/$/, "");
    if (folder !== "") {
      const found = await this.#query(
        "SELECT 1 FROM files WHERE (path = $1 AND kind = 'd') OR (path > $1 || '/' AND path < $1 || '0') LIMIT 1",
        [folder],
      );
      if (found.rowCount === 0) throw new ServerError(`${folder} is not a folder here`, { code: "NOT_FOUND" });
    }
    const range = folder === "" ? "TRUE" : "(f.path > $1 || '/' AND f.path < $1 || '0')";
    const values = folder === "" ? [] : [folder];
    const files = await this.#query(`SELECT path, size, mtime, sha256 FROM files f WHERE kind = 'f' AND ${range} ORDER BY path`, values);
    const entries: ListEntry[] = files.rows.map((row) => ({ name: row.path, size: Number(row.size), mtime: Number(row.mtime), sha256: row.sha256 }));
    if (!emptyFolders) return entries;
    const empty = await this.#query(
      `SELECT path, mtime FROM files f WHERE kind = 'd' AND ${range}
         AND NOT EXISTS (SELECT 1 FROM files c WHERE c.path > f.path || '/' AND c.path < f.path || '0')`,
      values,
    );
    for (const row of empty.rows) entries.push({ name: `${row.path}/`, size: 0, mtime: Number(row.mtime), sha256: null });
    // Byte order of the UTF-8 names, as the files were sorted by the "C" collation.
    return entries.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  }

  async used(space: string): Promise<number> {
    const { rows } = await this.#query(`SELECT COALESCE(SUM(size), 0) AS used FROM files WHERE kind = 'f' AND ${spaceRange("path", 1)}`, [space]);
    return Number(rows[0].used);
  }

  reserve(space: string, limit: number, size: number, resuming?: string): Promise<number> {
    return this.#transaction(async (query) => {
      // One reservation at a time per space, on every server: the sum below cannot go stale.
      await query("SELECT pg_advisory_xact_lock(hashtextextended($1, 2))", [space]);
      const { rows } = await query(
        `SELECT
           (SELECT COALESCE(SUM(size), 0) FROM files WHERE kind = 'f' AND ${spaceRange("path", 1)}) AS used,
           (SELECT COALESCE(SUM(bytes), 0) FROM reservations WHERE space = $1 AND holder IN ${LIVE}) AS reserved,
           (SELECT COALESCE(SUM("offset"), 0) FROM sessions WHERE space = $1 AND key <> $2
              AND (holder IS NULL OR holder NOT IN ${LIVE})) AS waiting`,
        [space, resuming ?? ""],
      );
      const used = Number(rows[0].used);
      const reserved = Number(rows[0].reserved);
      const waiting = Number(rows[0].waiting);
      if (used + reserved + waiting + size > limit) {
        throw new ServerError(
          `storing ${size} bytes would pass your quota (${used} of ${limit} bytes used, ${reserved} reserved by uploads in progress, ${waiting} held by interrupted uploads waiting to be resumed)`,
          { code: "QUOTA_EXCEEDED" },
        );
      }
      const inserted = await query("INSERT INTO reservations (space, bytes, holder) VALUES ($1, $2, $3) RETURNING id", [space, size, this.#holder]);
      return Number(inserted.rows[0].id);
    });
  }

  async settle(reservation: number): Promise<void> {
    await this.#query("DELETE FROM reservations WHERE id = $1", [reservation]);
  }

  async claim(key: string): Promise<boolean> {
    if (this.#claimed.has(key)) return false;
    this.#claimed.add(key);
    try {
      const { rows } = await this.#locks.query("SELECT pg_try_advisory_lock(hashtextextended($1, 3)) AS got", [key]);
      if (!rows[0].got) {
        this.#claimed.delete(key);
        return false;
      }
      await this.#query("UPDATE sessions SET holder = $2 WHERE key = $1", [key, this.#holder]);
      return true;
    } catch (cause) {
      this.#claimed.delete(key);
      throw catalogError("cannot claim the upload session", cause);
    }
  }

  claimedCount(): number {
    return this.#claimed.size;
  }

  async unclaim(key: string): Promise<void> {
    if (!this.#claimed.delete(key)) return;
    try {
      await this.#query("UPDATE sessions SET holder = NULL, touched = $2 WHERE key = $1", [key, Date.now()]);
    } finally {
      await this.#locks.query("SELECT pg_advisory_unlock(hashtextextended($1, 3))", [key]).catch(() => undefined);
    }
  }

  async session(key: string): Promise<Session | undefined> {
    const { rows } = await this.#query("SELECT * FROM sessions WHERE key = $1", [key]);
    return rows[0] ? toSession(rows[0]) : undefined;
  }

  async saveSession(s: Session): Promise<void> {
    await this.#query(
      `INSERT INTO sessions (key, space, name, size, chunk_size, object, upload_id, "offset", parts, chunks, hash_state, touched, holder)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (key) DO UPDATE SET space = $2, name = $3, size = $4, chunk_size = $5, object = $6, upload_id = $7, "offset" = $8,
         parts = $9, chunks = $10, hash_state = $11, touched = $12, holder = $13`,
      [s.key, s.space, s.name, s.size, s.chunkSize, s.object, s.uploadId, s.offset, JSON.stringify(s.parts), JSON.stringify(s.chunks), Buffer.from(s.hashState), Date.now(), this.#claimed.has(s.key) ? this.#holder : null],
    );
  }

  async deleteSession(key: string): Promise<void> {
    await this.#query("DELETE FROM sessions WHERE key = $1", [key]);
  }

  async takeExpiredSessions(ttlMs: number): Promise<Session[]> {
    // Untouched for ttlMs or more, as the local storage counts it: with ttlMs 0 a session saved in
    // this very millisecond is expired too (with "<" it was not, and a sweep's outcome depended on the clock's tick).
    const cut = Date.now() - ttlMs;
    // Reservations of servers that are gone stop counting at once; remove them while here.
    await this.#query(`DELETE FROM reservations WHERE holder NOT IN ${LIVE}`);
    const { rows } = await this.#query(
      `DELETE FROM sessions WHERE key IN (
         SELECT key FROM sessions WHERE touched <= $1 AND (holder IS NULL OR holder NOT IN ${LIVE}) FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [cut],
    );
    return rows.map(toSession);
  }

  async trash(object: string, graceMs: number): Promise<void> {
    await this.#query("INSERT INTO trash (object, after) VALUES ($1, $2) ON CONFLICT (object) DO NOTHING", [object, Date.now() + graceMs]);
  }

  async takeTrash(): Promise<string[]> {
    const { rows } = await this.#query("DELETE FROM trash WHERE after < $1 RETURNING object", [Date.now()]);
    return rows.map((row) => row.object as string);
  }

  async referenced(objects: readonly string[]): Promise<Set<string>> {
    const { rows } = await this.#query(
      `SELECT object FROM files WHERE object = ANY($1)
       UNION SELECT object FROM sessions WHERE object = ANY($1)
       UNION SELECT object FROM trash WHERE object = ANY($1)`,
      [objects],
    );
    return new Set(rows.map((row) => row.object as string));
  }

  async ping(): Promise<void> {
    await this.#query("SELECT 1");
  }

  async close(): Promise<void> {
    await this.#locks.end().catch(() => undefined);
    await this.#pool.end().catch(() => undefined);
  }

  async #query(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    try {
      return await this.#pool.query(text, values);
    } catch (cause) {
      throw catalogError("the catalog failed", cause);
    }
  }

  /** Runs `work` in one transaction; a ServerError it throws rolls back and passes on. */
  async #transaction<T>(work: (query: Query) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (cause) {
      throw catalogError("cannot reach the catalog", cause);
    }
    let broken = false;
    try {
      await client.query("BEGIN");
      const result = await work((text, values) => client.query(text, values));
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => (broken = true));
      throw catalogError("the catalog failed", error);
    } finally {
      client.release(broken);
    }
  }
}

/** Serialises changes to one top-level folder's tree on every server (a name and its parents are decided together). */
async function lockTree(query: Query, path: string): Promise<void> {
  await query("SELECT pg_advisory_xact_lock(hashtextextended($1, 1))", [path.split("/")[0]]);
}

/** `code` unless every folder above `path` can be one: none of them is a file. */
async function checkParents(query: Query, path: string, code: "BAD_NAME" | "NOT_FOUND"): Promise<void> {
  const parts = path.split("/").slice(0, -1);
  if (parts.length === 0) return;
  const ancestors = parts.map((_, at) => parts.slice(0, at + 1).join("/"));
  const { rows } = await query("SELECT path FROM files WHERE path = ANY($1) AND kind = 'f' LIMIT 1", [ancestors]);
  if (rows[0]) {
    const part = (rows[0].path as string).split("/").at(-1)!;
    throw new ServerError(`${quoteName(part)} in ${quoteName(path)} is not a folder`, { code });
  }
}

async function hasDescendants(query: Query, path: string): Promise<boolean> {
  const { rowCount } = await query("SELECT 1 FROM files WHERE path > $1 || '/' AND path < $1 || '0' LIMIT 1", [path]);
  return (rowCount ?? 0) > 0;
}

/** Nothing is stored at `path`, neither a file nor a folder. */
async function isFree(query: Query, path: string): Promise<boolean> {
  const { rowCount } = await query("SELECT 1 FROM files WHERE path = $1", [path]);
  return rowCount === 0 && !(await hasDescendants(query, path));
}

async function insertFile(query: Query, path: string, object: StoredObject): Promise<void> {
  await query("INSERT INTO files (path, kind, object, size, sha256, mtime) VALUES ($1, 'f', $2, $3, $4, $5)", [path, object.key, object.size, object.sha256, Date.now()]);
}

/** After a removal under `path`: made folders above it that hold nothing now go too (as the local root prunes them). */
async function pruneFolders(query: Query, path: string): Promise<void> {
  const parts = path.split("/");
  for (let at = parts.length - 1; at > 0; at--) {
    const folder = parts.slice(0, at).join("/");
    if (await hasDescendants(query, folder)) return;
    await query("DELETE FROM files WHERE path = $1 AND kind = 'd'", [folder]);
  }
}

/** SQL for "column lies in space $n" ("" = everything). */
function spaceRange(column: string, n: number): string {
  return `($${n} = '' OR starts_with(${column}, $${n}))`;
}

/** Creates or migrates the schema (every table of pg-schema.ts) under an advisory lock. */
export async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1, 0)", [LOCK_SPACE.migrate]);
    await client.query("CREATE TABLE IF NOT EXISTS ferry_schema (version integer NOT NULL)");
    const { rows } = await client.query("SELECT version FROM ferry_schema");
    let version = rows[0] ? Number(rows[0].version) : 0;
    if (!rows[0]) await client.query("INSERT INTO ferry_schema (version) VALUES (0)");
    for (; version < MIGRATIONS.length; version++) await client.query(MIGRATIONS[version]!);
    await client.query("UPDATE ferry_schema SET version = $1", [version]);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

function toFile(row: Record<string, unknown>): CatalogFile {
  return { path: row["path"] as string, key: row["object"] as string, size: Number(row["size"]), sha256: row["sha256"] as string, mtime: Number(row["mtime"]) };
}

function toSession(row: Record<string, unknown>): Session {
  return {
    key: row["key"] as string,
    space: row["space"] as string,
    name: row["name"] as string,
    size: Number(row["size"]),
    chunkSize: Number(row["chunk_size"]),
    object: row["object"] as string,
    uploadId: row["upload_id"] as string,
    offset: Number(row["offset"]),
    parts: row["parts"] as Session["parts"],
    chunks: row["chunks"] as string[],
    hashState: new Uint8Array(row["hash_state"] as Buffer),
  };
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(an unparsable database URL)";
  }
}

export function describePgFailure(error: unknown): string {
  const code = (error as { code?: string } | undefined)?.code;
  switch (code) {
    case "28P01":
    case "28000":
      return `the database refused the credentials (${(error as Error).message})`;
    case "3D000":
      return `no such database (${(error as Error).message})`;
    case "ECONNREFUSED":
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENOTFOUND":
      return `the database is unreachable (${code})`;
    default:
      return (error as Error).message ?? String(error);
  }
}

function catalogError(what: string, error: unknown): ServerError {
  if (error instanceof ServerError) return error;
  return new ServerError(`${what}: ${describePgFailure(error)}`, { code: "STORAGE_ERROR", cause: error });
}
