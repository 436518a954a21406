import archiver from "archiver";
import type { Readable } from "node:stream";
import type { Storage } from "@ferry/server-core";
import { fileBody } from "./file-response.js";

/** One file of a zip: its stored name and its name inside the archive. */
export interface ZipEntry {
  stored: string;
  inZip: string;
  size: number;
  mtime: number;
}

/** Past this (the 32-bit fields of a plain zip, less room for headers), the archive is written as ZIP64 throughout. */
const ZIP32_LIMIT = 0xffff_ffff - 64 * 1024 * 1024;

/**
 * A zip of `entries`, streamed as it is read: archiver in store mode (no compression: the point is
 * one click for many files, and most shared files are compressed already), each file opened only
 * when the archive reaches it and read through the same backpressured body as a download, so a
 * folder of any size takes one chunk of memory. The sizes are known from the listing, so an archive
 * that may pass 4 GiB is written ZIP64 from its first header (archiver decides per entry only once
 * an entry's bytes have gone by, too late for its local header).
 */
export function folderZip(storage: Storage, entries: ZipEntry[], onBytes: (n: number) => void): Readable {
  const total = entries.reduce((sum, entry) => sum + entry.size + 512 + Buffer.byteLength(entry.inZip), 0);
  const zip = archiver("zip", { store: true, forceZip64: total > ZIP32_LIMIT });
  let at = 0;
  // archiver queues entries; feeding the next only when the previous has been consumed keeps one file open at a time.
  const next = (): void => {
    const entry = entries[at++];
    if (!entry) {
      void zip.finalize();
      return;
    }
    storage.openForRead(entry.stored).then(
      (reader) => {
        zip.append(fileBody(reader, 0, reader.size - 1, onBytes), { name: entry.inZip, date: new Date(entry.mtime) });
      },
      (error: Error) => zip.destroy(error),
    );
  };
  zip.on("entry", next);
  zip.on("warning", (error) => zip.destroy(error));
  next();
  return zip;
}
