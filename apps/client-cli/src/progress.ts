import type cliProgressTypes from "cli-progress";
import { formatBytes } from "@ferry/cli-text";

/** Progress for one file at a time: a bar on a terminal, nothing otherwise. */
export interface ProgressReporter {
  start(label: string, total: number): void;
  update(bytes: number): void;
  stop(): void;
}

// Small files finish before a bar could be read; a bar only flickers for them.
const BAR_THRESHOLD = 1024 * 1024;

/**
 * cli-progress on stderr when it is a TTY, so stdout stays clean for results and pipes. Loaded
 * only then: scripts and pipes skip its import (~25 ms of the CLI's start-up to first byte).
 */
export async function createProgress(enabled: boolean): Promise<ProgressReporter> {
  if (!enabled || !process.stderr.isTTY) return { start() {}, update() {}, stop() {} };
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
