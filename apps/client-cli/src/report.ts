import type { DownloadResult, UploadResult } from "@ferry/client-core";
import type { ListEntry } from "@ferry/protocol";
import { ClientError } from "@ferry/client-core";
import { describeError } from "./exit-codes.js";
import { formatBytes, formatDuration, formatRate, printable } from "@ferry/cli-text";

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
    if (result.outcome === "skipped") {
      this.#out(`skipped ${printable(file)} — ${printable(result.name)} already exists on the server`);
      return;
    }
    const renamed = result.name === result.requestedName ? "" : ` as ${printable(result.name)}`;
    const replaced = result.outcome === "overwritten" ? " (replaced the server's copy)" : "";
    const resumed = result.resumedFrom > 0 ? ` (resumed: ${formatBytes(result.resumedFrom)} were already there)` : "";
    this.#out(
      `stored ${printable(file)}${renamed} — ${formatBytes(result.size)} in ${formatDuration(result.durationMs)}, ${formatRate(result.size, result.durationMs)}, sha256 ${result.sha256}${replaced}${resumed}`,
    );
  }

  downloaded(name: string, result: DownloadResult): void {
    if (this.#json) {
      this.#out(JSON.stringify({ file: name, ok: true, ...result }));
      return;
    }
    if (result.outcome === "skipped") {
      this.#out(`skipped ${printable(name)} — ${printable(result.path)} already exists`);
      return;
    }
    const resumed = result.resumedFrom > 0 ? ` (resumed: ${formatBytes(result.resumedFrom)} were already here)` : "";
    this.#out(
      `got ${printable(name)} → ${printable(result.path)} — ${formatBytes(result.size)} in ${formatDuration(result.durationMs)}, ${formatRate(result.size, result.durationMs)}, sha256 ${result.sha256}${resumed}`,
    );
  }

  listing(entries: ListEntry[]): void {
    if (this.#json) {
      for (const entry of entries) this.#out(JSON.stringify(entry));
      return;
    }
    for (const e of entries) {
      const when = new Date(e.mtime).toISOString().slice(0, 16).replace("T", " ");
      const hash = e.sha256 ? `${e.sha256.slice(0, 16)}…` : "(not verified)  ";
      this.#out(`${formatBytes(e.size).padStart(10)}  ${when}  ${hash}  ${printable(e.name)}`);
    }
    this.note(`${entries.length} file${entries.length === 1 ? "" : "s"}`);
  }

  deleted(name: string): void {
    if (this.#json) this.#out(JSON.stringify({ file: name, ok: true, deleted: true }));
    else this.#out(`deleted ${printable(name)}`);
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
