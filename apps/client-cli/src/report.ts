import type { UploadResult } from "@ferry/client-core";
import { ClientError } from "@ferry/client-core";
import { describeError } from "./exit-codes.js";
import { formatBytes, formatDuration, formatRate, printable } from "./format.js";

/** Where results go: stdout for results, stderr for failures; JSON lines with --json. */
export class Reporter {
  readonly #json: boolean;
  readonly #out: (line: string) => void;
  readonly #err: (line: string) => void;

  constructor(json: boolean, out = (l: string) => process.stdout.write(`${l}\n`), err = (l: string) => process.stderr.write(`${l}\n`)) {
    this.#json = json;
    this.#out = out;
    this.#err = err;
  }

  stored(file: string, result: UploadResult): void {
    if (this.#json) {
      this.#out(JSON.stringify({ file, ok: true, ...result }));
      return;
    }
    const renamed = result.name === result.requestedName ? "" : ` as ${printable(result.name)}`;
    this.#out(
      `stored ${printable(file)}${renamed} — ${formatBytes(result.size)} in ${formatDuration(result.durationMs)}, ${formatRate(result.size, result.durationMs)}, sha256 ${result.sha256}`,
    );
  }

  sentRaw(file: string, size: number, sha256: string): void {
    if (this.#json) {
      this.#out(JSON.stringify({ file, ok: true, raw: true, size, sha256 }));
      return;
    }
    this.#out(`sent ${printable(file)} raw — ${formatBytes(size)}, sha256 ${sha256} (raw mode has no confirmation)`);
  }

  failed(file: string, error: unknown): void {
    if (this.#json) {
      const code = error instanceof ClientError ? error.code : "LOCAL_FILE_ERROR";
      this.#out(JSON.stringify({ file, ok: false, code, message: (error as Error).message }));
      return;
    }
    this.#err(`ferry: ${printable(file)}: ${describeError(error)}`);
  }

  note(line: string): void {
    if (!this.#json) this.#err(line);
  }
}
