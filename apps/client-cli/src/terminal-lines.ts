/** Where the lines go: process.stdout and process.stderr, or a test's stand-ins. */
export interface LineSink {
  write(text: string): unknown;
}

// A turn that prints more than this writes at once: a listing of many entries is never held whole.
const PENDING_LIMIT = 64 * 1024;

/**
 * The command's lines for stdout and stderr. Stdout's lines are gathered over one turn of the
 * event loop and written together: a folder of small files printed a line per file, each its own
 * write(2); gathered, `ferry send` spends ~5 µs a file less (docs/performance.md, "W1 and W2,
 * fourth session"). Order is kept wherever the two streams meet (a terminal, `2>&1`): a stderr
 * line, a prompt or a question first writes what stdout has pending, and so does the process on
 * its way out (flush() from an 'exit' handler; stdout is synchronous for files, pipes and
 * terminals on Linux).
 */
export class TerminalLines {
  readonly #stdout: LineSink;
  readonly #stderr: LineSink;
  #pending = "";
  #scheduled = false;

  constructor(stdout: LineSink, stderr: LineSink) {
    this.#stdout = stdout;
    this.#stderr = stderr;
  }

  /** A line for stdout, written by the end of this turn. */
  out(line: string): void {
    this.#pending += `${line}\n`;
    if (this.#pending.length >= PENDING_LIMIT) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.flush();
      });
    }
  }

  /** A line for stderr, written now, after whatever stdout has pending. */
  err(line: string): void {
    this.flush();
    this.#stderr.write(`${line}\n`);
  }

  /** Writes stdout's pending lines now (before a prompt, a question, or exit). */
  flush(): void {
    if (this.#pending === "") return;
    const text = this.#pending;
    this.#pending = "";
    this.#stdout.write(text);
  }
}
