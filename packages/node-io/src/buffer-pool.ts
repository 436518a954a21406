/**
 * A few large buffers used over and over: a buffer is taken, filled, handed to the socket, and
 * given back once the socket's write callback says the kernel has copied it. A read stream
 * allocates a fresh 1 MiB buffer per read instead, which for a 1 GiB download is 1,024 large
 * allocations for the garbage collector to find (the client's upload path measured 0.44 s of GC
 * per GiB before it pooled). The pool also bounds what one transfer holds: `count` × `size`.
 */
export class BufferPool {
  readonly #free: Buffer[] = [];
  readonly #waiting: ((buffer: Buffer) => void)[] = [];
  readonly #count: number;
  readonly #size: number;
  #made = 0;

  constructor(count: number, size: number) {
    this.#count = count;
    this.#size = size;
  }

  /** A free buffer of `size` bytes; waits while all `count` are out. */
  take(): Promise<Buffer> {
    const free = this.#free.pop();
    if (free) return Promise.resolve(free);
    if (this.#made < this.#count) {
      this.#made++;
      // allocUnsafeSlow: a buffer of its own, never a slice of Node's shared pool.
      return Promise.resolve(Buffer.allocUnsafeSlow(this.#size));
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Gives back a buffer from take(); its contents may be overwritten at once. */
  release(buffer: Buffer): void {
    const waiter = this.#waiting.shift();
    if (waiter) waiter(buffer);
    else this.#free.push(buffer);
  }
}
