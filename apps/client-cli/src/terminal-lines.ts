import { textPerTurn } from "@ferry/cli-text";

/** Where the lines go: process.stdout and process.stderr, or a test's stand-ins. */
export interface LineSink {
  write(text: string): unknown;
}

/**
 * The command's lines for stdout and stderr. Stdout's lines are gathered over one turn of the
 * event loop and written together (cli-text's textPerTurn: a folder of small files printed a line
 * per file, each its own write(2)). Order is kept wherever the two streams meet (a terminal,
 * `2>&1`): a stderr line, a prompt or a question first writes what stdout has pending, and so does
 * the process on its way out (flush() from an 'exit' handler; stdout is synchronous for files,
 * pipes and terminals on Linux).
 */
export class TerminalLines {
  readonly #stdout: ReturnType<typeof textPerTurn>;
  readonly #stderr: LineSink;

  constructor(stdout: LineSink, stderr: LineSink) {
    this.#stdout = textPerTurn((text) => void stdout.write(text));
    this.#stderr = stderr;
  }

  /** A line for stdout, written by the end of this turn. */
  out(line: string): void {
    this.#stdout.write(`${line}\n`);
  }

  /** A line for stderr, written now, after whatever stdout has pending. */
  err(line: string): void {
    this.flush();
    this.#stderr.write(`${line}\n`);
  }

  /** Writes stdout's pending lines now (before a prompt, a question, or exit). */
  flush(): void {
    this.#stdout.flush();
  }
}
