import { existsSync, readFileSync } from "node:fs";
import { unlink, writeFile } from "node:fs/promises";

/**
 * Prefix of a partial transfer's data file (an upload on the server, a download beside its
 * destination on the client); its journal adds JOURNAL_SUFFIX. Both start with the protocol's
 * reserved ".ferry-" prefix, so they are never listed or served.
 */
export const PARTIAL_PREFIX = ".ferry-part-";
export const JOURNAL_SUFFIX = ".journal";

/** What every journal header carries; each side adds the fields that identify its transfer. */
export interface JournalHeader {
  chunkSize: number;
}

/**
 * The journal of a partial transfer: a JSON header line, then one `{"chunk":N}` line per chunk,
 * appended only after that chunk's bytes were made durable. A line therefore always describes
 * bytes a crash cannot lose, and a torn last line (a crash mid-append) is not a whole line, so it
 * does not count.
 */
export class ChunkJournal<H extends JournalHeader> {
  readonly path: string;

  constructor(dataPath: string) {
    this.path = `${dataPath}${JOURNAL_SUFFIX}`;
  }

  /**
   * The header and how many chunks are recorded, or null when there is no journal or its header
   * is torn. Synchronous (metadata-sized reads, docs/performance.md "Synchronous metadata calls");
   * the existence test first, so the usual case (no journal) builds no exception.
   */
  read(): { header: H; chunks: number } | null {
    if (!existsSync(this.path)) return null;
    try {
      const [first, ...rest] = readFileSync(this.path, "utf8").split("\n").slice(0, -1);
      const header = JSON.parse(first ?? "null") as H | null;
      return header && typeof header === "object" ? { header, chunks: rest.length } : null;
    } catch {
      return null; // unreadable, or a torn header: nothing to resume
    }
  }

  /** Starts the journal afresh: the header and the first `chunks` chunk lines. */
  rewrite(header: H, chunks: number): Promise<void> {
    const lines = [JSON.stringify(header), ...Array.from({ length: chunks }, (_, at) => JSON.stringify({ chunk: at + 1 }))];
    return writeFile(this.path, `${lines.join("\n")}\n`);
  }

  /** Records chunk `chunk` (1-based) as durable. Call only after its bytes were synced. */
  append(chunk: number): Promise<void> {
    return writeFile(this.path, `${JSON.stringify({ chunk })}\n`, { flag: "a" });
  }

  /** Deletes the journal; a missing one is fine. */
  async remove(): Promise<void> {
    await unlink(this.path).catch(() => undefined);
  }
}
