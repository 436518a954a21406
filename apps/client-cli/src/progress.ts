import type cliProgressTypes from "cli-progress";
import { formatBytes, formatDuration } from "@ferry/cli-text";
import type { CliEvent } from "./events.js";

/**
 * What the commands tell the progress display. A run of several files (a folder, several
 * arguments) opens with begin() and gets an overall bar; each file large enough gets its own bar
 * while it moves; lines printed through print() appear above the bars instead of inside them.
 */
export interface ProgressReporter {
  /** `files` files of `bytes` in all are about to move. */
  begin(files: number, bytes: number): void;
  /** One file (or a resume check, `phase: "checking"`) starts: `total` bytes. */
  start(label: string, total: number, phase?: "moving" | "checking"): void;
  update(bytes: number): void;
  /** The current file is over (moved or failed). */
  stop(): void;
  /** A file of the run is done: the overall bar moves on by it. */
  fileDone(bytes: number): void;
  /** The run is over: bars are removed from the screen. */
  end(): void;
  /** Writes a result line above the bars when they are on screen; false when the caller should write it. */
  print(line: string): boolean;
}

/**
 * " ███░░ 42% | 1.2 MiB/3 MiB | 5 MiB/s | ETA 2s | name": the name last, cut to fit the terminal.
 * {remaining} rather than cli-progress's own {eta}, which a payload field cannot replace.
 */
const FORMAT = " {bar} {percentage}% | {done}/{size} | {rate} | {remaining} | {what}";

// Small files finish before a bar could be read; a bar only flickers for them.
const BAR_THRESHOLD = 1024 * 1024;
// --json: progress events at most this often per file.
const EVENT_INTERVAL_MS = 250;

const NOTHING: ProgressReporter = { begin() {}, start() {}, update() {}, stop() {}, fileDone() {}, end() {}, print: () => false };

/** --json: `progress` events (docs/cli-events.md), at most 4 per second, for files of 1 MiB and more. */
function progressEvents(emit: (event: CliEvent) => void): ProgressReporter {
  let current: { file: string; total: number; last: number } | undefined;
  return {
    ...NOTHING,
    start(file, total, phase = "moving") {
      current = total < BAR_THRESHOLD || phase === "checking" ? undefined : { file, total, last: 0 };
    },
    update(bytes) {
      if (!current) return;
      const now = performance.now();
      if (now - current.last < EVENT_INTERVAL_MS && bytes < current.total) return;
      current.last = now;
      emit({ type: "progress", file: current.file, bytes, total: current.total });
    },
    stop() {
      current = undefined;
    },
  };
}

/**
 * "bar": cli-progress's MultiBar on stderr when it is a TTY, so stdout stays clean for results and
 * pipes. Loaded only then: scripts and pipes skip its import (~25 ms of the CLI's start-up).
 * "json": progress events on stdout. "none": nothing.
 */
export async function createProgress(mode: "bar" | "json" | "none", emit: (event: CliEvent) => void = () => undefined): Promise<ProgressReporter> {
  if (mode === "json") return progressEvents(emit);
  if (mode === "none" || !process.stderr.isTTY) return NOTHING;
  const cliProgress = (await import("cli-progress")).default;
  return new BarDisplay(cliProgress, process.stderr);
}

/** The terminal display: an overall bar for runs of several files, one bar for the file moving. */
class BarDisplay implements ProgressReporter {
  readonly #lib: typeof cliProgressTypes;
  readonly #stream: NodeJS.WriteStream;
  #multi: cliProgressTypes.MultiBar | undefined;
  #overall: { bar: cliProgressTypes.SingleBar; files: number; done: number; bytes: number; moved: number; startedAt: number } | undefined;
  #file: { bar: cliProgressTypes.SingleBar; label: string; total: number; startedAt: number; phase: string } | undefined;

  constructor(lib: typeof cliProgressTypes, stream: NodeJS.WriteStream) {
    this.#lib = lib;
    this.#stream = stream;
  }

  begin(files: number, bytes: number): void {
    if (files < 2) return;
    const bar = this.#bars().create(bytes, 0, {}, { format: FORMAT });
    this.#overall = { bar, files, done: 0, bytes, moved: 0, startedAt: performance.now() };
    this.#drawOverall();
  }

  start(label: string, total: number, phase: "moving" | "checking" = "moving"): void {
    this.stop();
    if (total < BAR_THRESHOLD) return;
    const bar = this.#bars().create(total, 0, {}, { format: FORMAT });
    this.#file = { bar, label, total, startedAt: performance.now(), phase };
    this.update(0);
  }

  update(bytes: number): void {
    const file = this.#file;
    if (!file) return;
    const seconds = (performance.now() - file.startedAt) / 1000;
    const what = file.phase === "checking" ? `checking ${formatBytes(file.total)} already on the server` : file.label;
    file.bar.update(bytes, {
      what: this.#fit(what),
      done: formatBytes(bytes),
      size: formatBytes(file.total),
      rate: seconds > 0 && file.phase !== "checking" ? `${formatBytes(bytes / seconds)}/s` : "",
      remaining: eta(bytes, file.total, seconds),
    });
  }

  stop(): void {
    if (!this.#file) return;
    this.#multi?.remove(this.#file.bar);
    this.#file = undefined;
    this.#endIfIdle();
  }

  fileDone(bytes: number): void {
    if (!this.#overall) return;
    this.#overall.done++;
    this.#overall.moved += bytes;
    this.#drawOverall();
  }

  end(): void {
    this.stop();
    if (this.#overall) this.#multi?.remove(this.#overall.bar);
    this.#overall = undefined;
    this.#endIfIdle();
  }

  print(line: string): boolean {
    if (!this.#multi) return false;
    this.#multi.log(`${line}\n`);
    return true;
  }

  #drawOverall(): void {
    const all = this.#overall;
    if (!all) return;
    const seconds = (performance.now() - all.startedAt) / 1000;
    all.bar.update(all.moved, {
      what: `${all.done}/${all.files} files`,
      done: formatBytes(all.moved),
      size: formatBytes(all.bytes),
      rate: seconds > 0 ? `${formatBytes(all.moved / seconds)}/s` : "",
      remaining: eta(all.moved, all.bytes, seconds),
    });
  }

  #bars(): cliProgressTypes.MultiBar {
    this.#multi ??= new this.#lib.MultiBar(
      { stream: this.#stream, hideCursor: true, clearOnComplete: true, fps: 10, barsize: this.#barSize(), autopadding: true },
      this.#lib.Presets.shades_classic,
    );
    return this.#multi;
  }

  #endIfIdle(): void {
    if (this.#file || this.#overall || !this.#multi) return;
    this.#multi.stop();
    this.#multi = undefined;
  }

  /** The bar takes what the terminal leaves after the numbers (~60 columns), between 10 and 40. */
  #barSize(): number {
    const columns = this.#stream.columns || 80;
    return Math.max(10, Math.min(40, columns - 70));
  }

  #fit(label: string): string {
    const room = Math.max(10, (this.#stream.columns || 80) - this.#barSize() - 62);
    return label.length <= room ? label : `…${label.slice(label.length - room + 1)}`;
  }
}

function eta(done: number, total: number, seconds: number): string {
  if (done <= 0 || seconds <= 0 || done >= total) return "";
  return `ETA ${formatDuration(((total - done) / done) * seconds * 1000)}`;
}
