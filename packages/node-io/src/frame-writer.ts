import type { Socket } from "node:net";

/**
 * Writes encoded frames (`[header, payload]`, as the protocol's encoder returns them) to a socket.
 * Frames written in the same tick are corked together and leave in one writev: a small file's
 * PUT, DATA and PUT_END (or a server's pipelined answers) cost one syscall instead of three.
 */
export class FrameWriter {
  readonly #socket: Socket;
  #corked = false;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  /**
   * Queues one frame; false when the socket's queue is over its high-water mark (wait for
   * 'drain'). `onWritten` runs once the payload is handed to the kernel (or the write failed), so
   * a pooled payload buffer may then be reused.
   */
  write([header, payload]: readonly [Buffer, Uint8Array], onWritten?: () => void): boolean {
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#socket.write(header);
    return this.#socket.write(payload, onWritten ? () => onWritten() : undefined);
  }
}
