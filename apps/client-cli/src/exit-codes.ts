import { ClientError, isConnectionLevel } from "@ferry/client-core";
import { TrustRefused } from "./connect.js";
import { UsageError } from "./settings.js";

/** Documented exit codes of ferry (also listed in --help). */
export const EXIT = {
  /** Every file was stored and verified. */
  OK: 0,
  /** At least one file failed (missing, refused, checksum…); the others were still sent. */
  SOME_FAILED: 1,
  /** Bad flags or arguments. */
  USAGE: 2,
  /** Could not reach or talk to the server (refused, busy, timeout, lost, not trusted, not authenticated). */
  CONNECTION: 3,
  /** Interrupted with Ctrl+C (SIGINT). */
  INTERRUPTED: 130,
  /** Stopped with SIGTERM. */
  TERMINATED: 143,
  /** Whoever read stdout went away (`ferry ls | head`): stopped quietly, as a shell reports SIGPIPE. */
  BROKEN_PIPE: 141,
} as const;

export type Interrupt = "SIGINT" | "SIGTERM";

/** The exit code after a signal: 128 + its number, as shells report it. */
export function interruptedExit(signal: Interrupt): number {
  return signal === "SIGTERM" ? EXIT.TERMINATED : EXIT.INTERRUPTED;
}

export const EXIT_HELP = `
Exit codes:
  0    everything was done (files skipped on purpose, as --on-conflict skip asks, count as done)
  1    some file failed or could not be sent; each is named, and the others were still sent
  2    bad flags or arguments
  3    could not reach or trust the server (refused, busy, timeout, lost,
       TLS certificate not trusted, token missing or wrong)
  130  interrupted (Ctrl+C); 143 stopped by SIGTERM
  141  the reader of stdout went away (ferry ls | head): stopped quietly`;

/** True when the error means the connection is gone, not just one file. */
export const isConnectionError = isConnectionLevel;

/** The one place that maps an error to an exit code. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.USAGE;
  if (error instanceof TrustRefused) return EXIT.CONNECTION;
  if (error instanceof ClientError) {
    if (error.code === "ABORTED") return EXIT.INTERRUPTED;
    return isConnectionError(error) ? EXIT.CONNECTION : EXIT.SOME_FAILED;
  }
  return EXIT.SOME_FAILED;
}

/** The stable code of any error a command can end with (Ferry's, commander's usage codes aside), or "ERROR". */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "ERROR";
}

/** A sentence for people, per code; the code itself is always shown too, for scripts and searches. */
export function describeError(error: unknown, where: "command" | "prompt" = "command"): string {
  if (!(error instanceof ClientError)) return (error as Error).message ?? String(error);
  const hints: Partial<Record<string, string>> = {
    CONNECT_FAILED: "is ferry-server running there? check --host and --port",
    ABORTED: "interrupted: this file was not stored",
    BUSY: "the server has as many clients as it allows; try again shortly",
    CHECKSUM_MISMATCH: "the bytes were damaged in transit; nothing was stored — send again",
    BAD_NAME: "rename the file (no path separators, control characters or reserved names)",
    FILE_TOO_LARGE: "the server does not accept files this large",
    SOURCE_CHANGED: "the file changed while it was being sent; nothing was stored — send again",
    LOCAL_FILE_ERROR: "check the path and its permissions",
    AUTH_REQUIRED: "set FERRY_TOKEN (or --token, or \"token\" in ~/.config/ferry/config.json)",
    AUTH_FAILED: "check the token with the server's operator; repeated failures block this address for a while",
    FORBIDDEN: "your user lacks this permission on the server",
    QUOTA_EXCEEDED: "ask the server's operator for a larger quota, or delete files if your user may",
    NO_SPACE: "the server's disk is full; nothing was stored",
    TOO_SLOW: "the connection moved data too slowly for the server; check the network and try again",
    TLS_UNTRUSTED: "pass --ca FILE, or --fingerprint SHA256:… as printed by ferry-server",
    TLS_FINGERPRINT_MISMATCH: "the server's certificate is not the expected one; nothing was sent",
  };
  // The prompt takes no flags: advice there must be something the user can do at the prompt.
  hints.ALREADY_EXISTS = where === "prompt" ? "move or rename the local file, then get it again" : "--on-conflict rename, overwrite or skip chooses what happens instead";
  const hint = hints[error.code];
  return `${error.code}: ${error.message}${hint ? ` (${hint})` : ""}`;
}
