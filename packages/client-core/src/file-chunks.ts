import { BufferPool, readAt } from "@ferry/node-io";
import { ClientError } from "./errors.js";

/**
 * Reads a byte range of an open file (the caller owns the descriptor) through a BufferPool: a
 * buffer is handed out, sent, and read into again only once `release` says the socket has copied
 * it to the kernel. The pool bounds what one upload holds in memory: `count` × `size`.
 */
export class FileChunks implements AsyncIterable<Buffer> {
  readonly #fd: number;
  readonly #start: number;
  readonly #end: number;
  readonly #size: number;
  readonly #pool: BufferPool;

  constructor(fd: number, range: { start: number; end: number }, size: number, count = 8) {
    this.#fd = fd;
    this.#start = range.start;
    this.#end = range.end;
    this.#size = size;
    this.#pool = new BufferPool(count, size);
  }

  /** Gives a buffer yielded by the iterator back to the pool (call once its bytes are sent). */
  release(chunk: Buffer): void {
    // The yielded chunk may be a view of the pooled buffer; the pool keeps whole buffers.
    this.#pool.release(Buffer.from(chunk.buffer, chunk.byteOffset, this.#size));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (let position = this.#start; position < this.#end; ) {
      const buffer = await this.#pool.take();
      const bytesRead = await readAt(this.#fd, buffer, Math.min(this.#size, this.#end - position), position);
      if (bytesRead === 0) return; // the file shrank: the caller's byte count reports it
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
    // A file that grew while it was sent is not the file that was measured.
    if ((await readAt(this.#fd, Buffer.alloc(1), 1, this.#end)) > 0) {
      throw new ClientError(`the file grew beyond ${this.#end} bytes while it was being sent`, { code: "SOURCE_CHANGED" });
    }
  }
}
