import type { Socket } from "node:net";

// The chunks waiting here before the socket is paused (its own buffer then fills to its
// high-water mark before the kernel's takes over).
const QUEUE_BYTES = 256 * 1024;

/**
 * A socket's bytes as the chunks it read, one per next(), never joined. Readable's own iterator
 * takes everything buffered at once, and when more than one chunk waits (the server was busy
 * hashing or waiting on the disk) it copies them into one new buffer (fromList's concat): a
 * second copy of much of an upload, and more garbage (docs/performance.md, "W1 and W2, fourth
 * session"). Like `socket.iterator({ destroyOnReturn: false })`, it never destroys the socket:
 * next() resolves done at the peer's FIN, rejects with the socket's error (a ServerError the
 * connection destroyed it with, or a reset), and rejects if the socket closes without either.
 */
export class SocketChunks implements AsyncIterator<Buffer> {
  readonly #socket: Socket;
  readonly #queue: Buffer[] = [];
  #queued = 0;
  #ended = false;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#queue.push(chunk);
      this.#queued += chunk.length;
      if (this.#queued >= QUEUE_BYTES) socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (error: Error) => {
      this.#failure ??= error;
      this.#notify();
    });
    socket.on("close", () => {
      if (!this.#ended) this.#failure ??= Object.assign(new Error("the connection closed before its end"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
      this.#notify();
    });
  }

  async next(): Promise<IteratorResult<Buffer>> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      const chunk = this.#queue.shift();
      if (chunk) {
        this.#queued -= chunk.length;
        if (this.#socket.isPaused() && this.#queued < QUEUE_BYTES / 2) this.#socket.resume();
        return { done: false, value: chunk };
      }
      if (this.#ended) return { done: true, value: undefined };
      if (this.#socket.isPaused()) this.#socket.resume();
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
