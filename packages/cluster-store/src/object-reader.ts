import type { FileDigest } from "@ferry/protocol";
import type { StoredReader } from "@ferry/server-core";
import type { BlobStore } from "./blob-store.js";

/**
 * A stored object read by position: one ranged GET streamed from where the reads are, reopened only
 * when a read jumps (a resumed download starts at its offset; the prefix digest then the rest are
 * two ranges). The object never changes (keys are never reused), so a download sees one version.
 */
export class ObjectReader implements StoredReader {
  readonly size: number;
  readonly digest: FileDigest;
  readonly mtime: number;
  readonly #blobs: BlobStore;
  readonly #key: string;
  #stream: AsyncIterator<Uint8Array> | undefined;
  #body: AsyncIterable<Uint8Array> | undefined;
  #position = 0;
  #left: Uint8Array | undefined;

  constructor(blobs: BlobStore, file: { key: string; size: number; sha256: string; mtime: number }) {
    this.#blobs = blobs;
    this.#key = file.key;
    this.size = file.size;
    this.digest = { algorithm: "sha256", hex: file.sha256 };
    this.mtime = file.mtime;
  }

  async read(buffer: Buffer, length: number, position: number): Promise<number> {
    const wanted = Math.min(length, this.size - position);
    if (wanted <= 0) return 0;
    if (this.#stream === undefined || position !== this.#position) await this.#open(position);
    let filled = 0;
    while (filled < wanted) {
      let piece = this.#left;
      this.#left = undefined;
      if (!piece) {
        const next = await this.#stream!.next();
        if (next.done) break;
        piece = next.value;
      }
      const take = Math.min(piece.length, wanted - filled);
      buffer.set(piece.subarray(0, take), filled);
      filled += take;
      if (take < piece.length) this.#left = piece.subarray(take);
    }
    this.#position = position + filled;
    return filled;
  }

  close(): void {
    this.#stop();
  }

  async #open(position: number): Promise<void> {
    this.#stop();
    this.#body = await this.#blobs.read(this.#key, position, this.size);
    this.#stream = this.#body[Symbol.asyncIterator]();
    this.#position = position;
  }

  #stop(): void {
    // The SDK's body is a Node stream: destroying it ends the HTTP response early.
    (this.#body as { destroy?: () => void } | undefined)?.destroy?.();
    this.#body = undefined;
    this.#stream = undefined;
    this.#left = undefined;
  }
}
