import { closeSync, fdatasync, fsync, read, write, writev } from "node:fs";
import { promisify } from "node:util";

const readAsync = promisify(read);
const writeAsync = promisify(write);
const writevAsync = promisify(writev);

/** fsync(2) and fdatasync(2) on a plain descriptor, through the thread pool. */
export const fsyncFd = promisify(fsync);
export const fdatasyncFd = promisify(fdatasync);

/** Reads up to `length` bytes at `position` of an open descriptor into the start of `into`. */
export function readAt(fd: number, into: Buffer, length: number, position: number): Promise<number> {
  return readAsync(fd, into, 0, length, position).then((r) => r.bytesRead);
}

/**
 * Writes every byte of `pieces` at `position`, in one writev when the kernel takes it all. writev
 * may stop short (a signal, a full disk); the rest is written from where it stopped.
 */
export async function writeAllAt(fd: number, pieces: Buffer[], position: number): Promise<void> {
  const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
  const { bytesWritten } = await writevAsync(fd, pieces, position);
  if (bytesWritten >= total) return;
  const rest = Buffer.concat(pieces).subarray(bytesWritten);
  for (let at = 0; at < rest.length; ) {
    at += (await writeAsync(fd, rest, at, rest.length - at, position + bytesWritten + at)).bytesWritten;
  }
}

/** Closes a descriptor, ignoring errors: by then every byte was synced, or is being thrown away. */
export function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // nothing left to lose
  }
}
