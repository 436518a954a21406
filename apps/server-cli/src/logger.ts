import { pino, type Logger } from "pino";
import { textPerTurn } from "@ferry/cli-text";

/** pino's own destination: a sonic-boom writer on a file descriptor. */
type SonicBoom = ReturnType<typeof pino.destination>;

export type LogFormat = "text" | "json";

/** A logger and what to call before the process exits (buffered lines must reach the file). */
export interface ServerLog {
  logger: Logger;
  /**
   * Text mode only: writes one server-event line ("TIME sentence") straight to stdout. The events
   * of every upload skip pino's serialise-then-parse round trip there: through it, W2 (10,000
   * files) spent ~0.25 s more of the server's thread (docs/performance.md). JSON mode has none.
   */
  eventLine?: (text: string) => void;
  flush(): void;
}

// Tokens never reach a log line: none of Ferry's events carries one, and these paths make sure a
// config or user object logged by mistake does not leak one either.
const REDACT = ["token", "*.token", "tokenSha256", "*.tokenSha256", "users[*].tokenSha256", "config.users[*].tokenSha256"];

/**
 * The server's log, on pino: levels, the pid, one child per connection (`conn`), token redaction.
 * `json`: every line is pino's JSON on stdout (warnings, shutdown and fatal errors included).
 * `text`: the same records rendered as the lab's sentences: server events on stdout as
 * "TIME message", everything else (warnings, start-up and shutdown notes, fatal errors) on stderr
 * as before. Written by sonic-boom asynchronously, in process (no worker transport: the server
 * ships as one bundle); lines that arrive while a write is in flight go out together, as the
 * batched writer before it did (docs/performance.md: per-line writes cost W2 ~0.4 s).
 */
export function createServerLog(format: LogFormat, fds: { out: number; err: number } = { out: 1, err: 2 }): ServerLog {
  const out = pino.destination({ fd: fds.out, sync: false });
  const err = format === "text" ? pino.destination({ fd: fds.err, sync: false }) : out;
  const options = {
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: REDACT, censor: "[redacted]" },
  };
  // Event lines leave once per turn: sonic-boom re-measures its whole pending buffer on every write
  // (docs/performance.md, "W2, third session").
  const lines = textPerTurn((text) => void out.write(text));
  const destination = format === "json" ? out : textDestination(lines, err);
  return {
    logger: pino(options, destination),
    ...(format === "text" ? { eventLine: (text: string) => lines.write(`${new Date().toISOString()} ${text}\n`) } : {}),
    flush() {
      lines.flush();
      for (const boom of new Set([out, err])) {
        try {
          boom.flushSync();
        } catch {
          // EAGAIN on a full pipe, or already closed: nothing more can be done at exit
        }
      }
    },
  };
}

/** Renders pino's JSON records as text lines (see createServerLog). */
function textDestination(out: { write(text: string): void }, err: SonicBoom): { write(line: string): void } {
  return {
    write(line: string) {
      const record = JSON.parse(line) as { time: string; msg?: string; event?: string; level: string; err?: { stack?: string } };
      const message = record.msg ?? "";
      if (record.event !== undefined) out.write(`${record.time} ${message}\n`);
      else err.write(record.level === "fatal" ? `ferry-server: ${message}\n` : `${message}\n`);
    },
  };
}
