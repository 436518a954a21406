import archiver from "archiver";
import type { Readable } from "node:stream";
import type { Storage } from "@ferry/server-core";
import { fileBody } from "./file-response.js";

/** One file of a zip: its stored name and its name inside the archive. */
export interface ZipEntry {
  stored: string;
  inZip: string;
  mtime: number;
}

/**
 * A zip of `entries`, streamed as it is read: archiver in store mode (no compression: the point is
 * one click for many files, and most shared files are compressed already), each file opened only
 * when the archive reaches it and read through the same backpressured body as a download, so a
 * folder of any size takes one chunk of memory. ZIP64 records are written where sizes need them.
 */
export function folderZip(storage: Storage, entries: ZipEntry[], onBytes: (n: number) => void): Readable {
  const zip = archiver("zip", { store: true, forceZip64: false });
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
