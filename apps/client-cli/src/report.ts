import type { DownloadResult, UploadResult } from "@ferry/client-core";
import { entryDigest, type DigestAlgorithm, type FileDigest, type ListEntry, type ShareInfo } from "@ferry/protocol";
import { linkState } from "./commands/share.js";
import path from "node:path";
import { ClientError, InterruptedUpload } from "@ferry/client-core";
import { describeError, errorCode } from "./exit-codes.js";
import { TerminalLines } from "./terminal-lines.js";
import { CLI_EVENTS_VERSION, type CliEvent, type FileOutcome } from "./events.js";
import { digestByAlgorithm, formatBytes, formatDigest, formatDuration, formatRate, printable } from "@ferry/cli-text";

type Command = Extract<CliEvent, { type: "start" }>["command"];

/**
 * Where results go. Text: results on stdout, failures and notes on stderr, one line each. With
 * --json: the NDJSON event stream of docs/cli-events.md on stdout, every result, skip and failure an
 * event (stderr keeps the human lines of failures).
 */
export class Reporter {
  readonly json: boolean;
  readonly #lines: TerminalLines;
  /** Progress bars on screen take result lines above them (MultiBar.log) so nothing lands inside a bar. */
  #display: { print(line: string): boolean } | undefined;
  readonly #startedAt = performance.now();
  readonly #tally = { done: 0, failed: 0, skipped: 0, bytes: 0 };

  constructor(json: boolean, lines = new TerminalLines(process.stdout, process.stderr)) {
    this.json = json;
    this.#lines = lines;
  }

  /** Writes the stdout lines still pending (see TerminalLines): before a prompt. */
  flush(): void {
    this.#lines.flush();
  }

  /** Where failures are read: at the prompt, hints must not suggest flags. */
  where: "command" | "prompt" = "command";

  /** Routes human lines through the progress display while it shows bars. */
  useDisplay(display: { print(line: string): boolean }): void {
    this.#display = display;
  }

  #out(line: string): void {
    // On a terminal the bars share the screen with stdout; to a pipe or a file stdout goes as is.
    if (!this.json && process.stdout.isTTY && this.#display?.print(line)) return;
    this.#lines.out(line);
  }

  #err(line: string): void {
    if (this.#display?.print(line)) return;
    this.#lines.err(line);
  }

  /** Emits one event (JSON mode only). */
  event(event: CliEvent): void {
    if (this.json) this.#out(JSON.stringify(event));
  }

  start(command: Command, server: { host: string; port: number }): void {
    this.event({ type: "start", version: CLI_EVENTS_VERSION, command, server });
  }

  /** The last event: totals and the exit code. */
  summary(exitCode: number): void {
    const { done, failed, skipped, bytes } = this.#tally;
    this.event({ type: "summary", files: { done, failed, skipped }, bytes, durationMs: Math.round(performance.now() - this.#startedAt), exitCode });
  }

  stored(file: string, result: UploadResult): void {
    this.#count(result.outcome, result.size);
    if (this.json) {
      const { name, size, digest, durationMs, resumedFrom, outcome } = result;
      this.event({ type: "file", direction: "up", file, outcome, name, size, ...digestFields(digest), durationMs: Math.round(durationMs), resumedFrom });
      return;
    }
    if (result.outcome === "skipped") {
      this.#out(`skipped ${printable(file)}: ${printable(result.name)} already exists on the server`);
      return;
    }
    if (result.outcome === "unchanged") {
      this.#out(`unchanged ${printable(file)}: ${printable(result.name)} on the server already holds these bytes (${digestText(result.digest)})`);
      return;
    }
    const how = result.outcome === "overwritten" ? " (replaced the server's copy)" : result.outcome === "renamed" ? ` (${printable(result.requestedName)} was taken)` : "";
    const resumed = result.resumedFrom > 0 ? ` (resumed: ${formatBytes(result.resumedFrom)} were already there)` : "";
    this.#out(
      `stored ${printable(file)} as ${printable(result.name)}${how}: ${formatBytes(result.size)} in ${formatDuration(result.durationMs)}, ${formatRate(result.size, result.durationMs)}, ${digestText(result.digest)}${resumed}`,
    );
  }

  downloaded(name: string, result: DownloadResult): void {
    this.#count(result.outcome, result.size);
    if (this.json) {
      const { path, size, digest, durationMs, resumedFrom, outcome } = result;
      this.event({ type: "file", direction: "down", file: name, outcome, name, path, size, ...digestFields(digest), durationMs: Math.round(durationMs), resumedFrom });
      return;
    }
    if (result.outcome === "skipped") {
      this.#out(`skipped ${printable(name)}: ${printable(result.path)} already exists`);
      return;
    }
    if (result.outcome === "unchanged") {
      this.#out(`unchanged ${printable(name)}: ${printable(result.path)} already holds these bytes (${digestText(result.digest)})`);
      return;
    }
    const resumed = result.resumedFrom > 0 ? ` (resumed: ${formatBytes(result.resumedFrom)} were already here)` : "";
    this.#out(
      `got ${printable(name)} → ${printable(result.path)}: ${formatBytes(result.size)} in ${formatDuration(result.durationMs)}, ${formatRate(result.size, result.durationMs)}, ${digestText(result.digest)}${resumed}`,
    );
  }

  /** get: an empty folder of the server's made here. */
  madeFolder(name: string, dir: string): void {
    this.#count("created", 0);
    const where = path.join(dir, name);
    if (this.json) this.event({ type: "file", direction: "down", file: name, outcome: "created", name, path: where });
    else this.#out(`made folder ${printable(where)}`);
  }

  listing(entries: ListEntry[]): void {
    if (this.json) {
      for (const { name, size, mtime, sha256, blake3 } of entries) {
        const digest = entryDigest({ sha256, blake3 })?.algorithm ?? null;
        this.event({ type: "entry", name, size, mtime, digest, sha256, ...(blake3 === undefined ? {} : { blake3 }) });
      }
      return;
    }
    for (const e of entries) {
      const when = new Date(e.mtime).toISOString().slice(0, 16).replace("T", " ");
      // The algorithm beside the digest: "sha256 ab12…" or "blake3 cd34…".
      const hash = e.sha256 ? `sha256 ${e.sha256.slice(0, 16)}…` : e.blake3 ? `blake3 ${e.blake3.slice(0, 16)}…` : "(not verified)".padEnd(24);
      this.#out(`${formatBytes(e.size).padStart(10)}  ${when}  ${hash}  ${printable(e.name)}`);
    }
    this.note(`${entries.length} file${entries.length === 1 ? "" : "s"}`);
  }

  /** share: the URL alone on stdout (for `$(ferry share …)`), what it reaches on stderr. */
  linkCreated(url: string, link: ShareInfo): void {
    if (this.json) {
      this.event({ type: "link", action: "created", url, ...linkFields(link) });
      return;
    }
    this.#out(url);
    const limit =
      link.kind === "download"
        ? link.maxDownloads === null ? "" : `, ${link.maxDownloads} download${link.maxDownloads === 1 ? "" : "s"}`
        : [link.maxFiles === null ? "" : `, up to ${link.maxFiles} files`, link.maxBytes === null ? "" : `, up to ${formatBytes(link.maxBytes)}`].join("");
    const what = link.kind === "download" ? link.paths.map((p) => printable(p || "/")).join(", ") : `drop files into ${printable(link.paths[0] || "/")}`;
    this.note(`${link.kind} link ${link.fingerprint}: ${what}; expires ${new Date(link.expiresAt).toISOString().replace(/:\d\d\.\d+Z$/, "Z")}${limit}${link.password ? ", password" : ""}`);
  }

  /** share --list: one line per link, newest last. */
  links(links: ShareInfo[], now: number): void {
    if (this.json) {
      for (const link of links) this.event({ type: "link", action: "listed", state: linkState(link, now), ...linkFields(link) });
      return;
    }
    for (const link of links) {
      const used = link.kind === "download" ? `${link.downloads}${link.maxDownloads === null ? "" : `/${link.maxDownloads}`} downloads` : `${link.uploadedFiles}${link.maxFiles === null ? "" : `/${link.maxFiles}`} files`;
      const expires = new Date(link.expiresAt).toISOString().slice(0, 16).replace("T", " ");
      this.#out(`${link.fingerprint}  ${link.kind.padEnd(8)}  ${linkState(link, now).padEnd(7)}  ${expires}  ${used.padEnd(16)}  ${link.paths.map((p) => printable(p || "/")).join(", ")}`);
    }
    this.note(`${links.length} link${links.length === 1 ? "" : "s"}`);
  }

  linkRevoked(fingerprint: string): void {
    if (this.json) this.event({ type: "link", action: "revoked", fingerprint });
    else this.#out(`revoked link ${fingerprint}`);
  }

  /** get --delete: a local file or folder the server's folder does not have was removed. */
  deletedLocal(target: string): void {
    this.#count("deleted", 0);
    if (this.json) this.event({ type: "file", direction: "delete", file: target, outcome: "deleted", path: target });
    else this.#out(`deleted ${printable(target)} (not on the server)`);
  }

  deleted(name: string): void {
    this.#count("deleted", 0);
    if (this.json) this.event({ type: "file", direction: "delete", file: name, outcome: "deleted", name });
    else this.#out(`deleted ${printable(name)}`);
  }

  /**
   * -n: what a real run would do with one file (or deletion), and nothing done. JSON: a `file`
   * event with the planned outcome and `dryRun: true`.
   */
  planned(direction: "up" | "down" | "delete", file: string, outcome: FileOutcome, where: { name?: string; path?: string; size: number }): void {
    if (outcome === "skipped") this.#tally.skipped++;
    else this.#tally.done++;
    const { size } = where;
    if (this.json) {
      this.event({ type: "file", direction, file, outcome, ...(where.name !== undefined ? { name: where.name } : {}), ...(where.path !== undefined ? { path: where.path } : {}), size, dryRun: true });
      return;
    }
    const name = where.path ?? where.name ?? file;
    const verb: Record<string, string> = {
      created: direction === "down" ? "get" : "send",
      renamed: "send beside the server's different copy (renamed)",
      overwritten: direction === "down" ? "get, replacing the local copy" : "send, replacing the server's copy",
      skipped: "skip (the name is taken)",
      unchanged: "leave unchanged",
      failed: "refuse (the name is taken; --on-conflict chooses)",
      deleted: "delete",
    };
    this.#out(`would ${verb[outcome] ?? outcome} ${printable(file)}${name !== file ? ` → ${printable(name)}` : ""}`);
  }

  sentRaw(file: string, size: number, sha256: string): void {
    this.#count("sent-raw", size);
    if (this.json) {
      this.event({ type: "file", direction: "up", file, outcome: "sent-raw", size, sha256 });
      return;
    }
    this.#out(`sent ${printable(file)} raw: ${formatBytes(size)}, sha256 ${sha256} (raw mode has no confirmation)`);
  }

  /** A file that could not be sent, fetched or deleted; `direction` says which. */
  failed(file: string, error: unknown, direction: "up" | "down" | "delete" = "up"): void {
    this.#tally.failed++;
    if (error instanceof InterruptedUpload) {
      this.event({ type: "file", direction, file, outcome: "kept-for-resume", size: error.sentBytes, code: error.code, message: error.message });
      if (!this.json) this.#err(`interrupted ${printable(file)}: not stored; the server keeps what it received (${formatBytes(error.sentBytes)} sent) for the next run`);
      return;
    }
    const code = error instanceof ClientError ? error.code : "LOCAL_FILE_ERROR";
    this.event({ type: "file", direction, file, outcome: "failed", code, message: (error as Error).message ?? String(error) });
    this.#err(`ferry: ${printable(file)}: ${describeError(error, this.where)}`);
  }

  /** Something left out on purpose that the user should know of (a symlink in a folder). */
  skipped(file: string, reason: string, code = "SKIPPED"): void {
    this.#tally.skipped++;
    this.event({ type: "file", direction: "up", file, outcome: "skipped", code, message: reason });
    if (!this.json) this.#err(`skipped ${printable(file)}: ${reason}`);
  }

  /** The prompt's answer to a name that is not a readable file (the lab's sentence, then why). */
  invalidName(input: string, sentence: string, error: unknown): void {
    this.#tally.failed++;
    this.event({ type: "error", code: error instanceof ClientError ? error.code : "LOCAL_FILE_ERROR", message: (error as Error).message, file: input });
    if (!this.json) this.#err(sentence);
  }

  /** A failure of the whole command (connection, trust, usage). */
  error(error: unknown): void {
    this.event({ type: "error", code: errorCode(error), message: (error as Error).message ?? String(error) });
    this.#err(`ferry: ${describeError(error)}`);
  }

  /** A line for people only (stderr); nothing in JSON mode. */
  note(line: string): void {
    if (!this.json) this.#err(line);
  }

  #count(outcome: FileOutcome, bytes: number): void {
    if (outcome === "skipped") this.#tally.skipped++;
    else this.#tally.done++;
    this.#tally.bytes += bytes;
  }
}

/** A link's fields as the `link` event carries them. */
function linkFields(link: ShareInfo) {
  const { fingerprint, kind, paths, expiresAt, maxDownloads, downloads, password, maxBytes, maxFiles, uploadedBytes, uploadedFiles } = link;
  return { fingerprint, kind, paths, expiresAt, maxDownloads, downloads, password, maxBytes, maxFiles, uploadedBytes, uploadedFiles };
}

/** A digest as --json carries it: its algorithm, and the hex under that algorithm's key. */
function digestFields(digest: FileDigest | null): { digest?: DigestAlgorithm; sha256?: string; blake3?: string } {
  return digest ? { digest: digest.algorithm, ...digestByAlgorithm(digest) } : {};
}

/** A digest as the text output shows it: "sha256 <hex>" or "blake3 <hex>". */
function digestText(digest: FileDigest | null): string {
  return digest ? formatDigest(digest) : "no digest";
}
