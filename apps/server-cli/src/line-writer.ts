/**
 * Log lines gathered and written once per turn of the event loop. stdout to a pipe or file is
 * written synchronously by Node, one syscall per write: at two lines per upload, a folder of
 * 10,000 small files spent ~0.4 s of the server's main thread in those writes (W2 profile).
 * `flush()` writes what is pending at once (before exiting).
 */
export class LineWriter {
  readonly #stream: NodeJS.WritableStream;
  #pending: string[] = [];
  #scheduled = false;

  constructor(stream: NodeJS.WritableStream) {
    this.#stream = stream;
  }

  write(line: string): void {
    this.#pending.push(`${line}\n`);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const text = this.#pending.join("");
    this.#pending = [];
    this.#stream.write(text);
  }
}
