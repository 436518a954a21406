import type cliProgressTypes from "cli-progress";
import { formatBytes } from "@ferry/cli-text";
import type { CliEvent } from "./events.js";

/** Progress for one file at a time: a bar on a terminal, nothing otherwise. */
export interface ProgressReporter {
  start(label: string, total: number): void;
  update(bytes: number): void;
  stop(): void;
}

// Small files finish before a bar could be read; a bar only flickers for them.
const BAR_THRESHOLD = 1024 * 1024;

// --json: progress events at most this often per file.
const EVENT_INTERVAL_MS = 250;

/** --json: `progress` events (docs/cli-events.md), at most 4 per second, for files of 1 MiB and more. */
function progressEvents(emit: (event: CliEvent) => void): ProgressReporter {
  let current: { file: string; total: number; last: number } | undefined;
  return {
    start(file, total) {
      current = total < BAR_THRESHOLD ? undefined : { file, total, last: 0 };
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
 * "bar": cli-progress on stderr when it is a TTY, so stdout stays clean for results and pipes. Loaded
 * only then: scripts and pipes skip its import (~25 ms of the CLI's start-up to first byte).
 * "json": progress events on stdout. "none": nothing.
 */
export async function createProgress(mode: "bar" | "json" | "none", emit: (event: CliEvent) => void = () => undefined): Promise<ProgressReporter> {
  if (mode === "json") return progressEvents(emit);
  if (mode === "none" || !process.stderr.isTTY) return { start() {}, update() {}, stop() {} };
  const cliProgress = (await import("cli-progress")).default;
  let bar: cliProgressTypes.SingleBar | undefined;
  let startedAt = 0;
  return {
    start(label, total) {
      if (total < BAR_THRESHOLD) return;
      startedAt = performance.now();
      bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: " {bar} {percentage}% | {done}/{size} | {rate} | {label}",
          hideCursor: true,
          clearOnComplete: true,
          fps: 10,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { label, done: formatBytes(0), size: formatBytes(total), rate: "—" });
    },
    update(bytes) {
      if (!bar) return;
      const seconds = (performance.now() - startedAt) / 1000;
      bar.update(bytes, { done: formatBytes(bytes), rate: seconds > 0 ? `${formatBytes(bytes / seconds)}/s` : "—" });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
