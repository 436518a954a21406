import { z } from "zod";
import { DIGEST_ALGORITHMS } from "@ferry/protocol";

/**
 * `ferry --json`: one JSON object per line on stdout, each with a `type`. docs/cli-events.md is
 * this file rendered as JSON Schema (a test keeps the two equal). Consumers must ignore types and
 * fields they do not know: later versions add them; `start.version` changes only when a meaning
 * changes.
 */
export const CLI_EVENTS_VERSION = 1;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
/** Which digest the hex beside it is: "sha256", or "blake3" for a transfer made with --digest blake3. */
const digest = z.enum(DIGEST_ALGORITHMS);
const count = z.int().min(0);

/** First line of every command. */
export const StartEvent = z.object({
  type: z.literal("start"),
  version: z.literal(CLI_EVENTS_VERSION),
  command: z.enum(["send", "get", "ls", "rm", "share", "shell"]),
  server: z.object({ host: z.string(), port: z.int() }),
});

/** A transfer in progress: at most 4 per second per file, and none for files under 1 MiB. */
export const ProgressEvent = z.object({
  type: z.literal("progress"),
  file: z.string(),
  bytes: count,
  total: count,
});

/** What happened to one file, whatever the command. */
export const FILE_OUTCOMES = [
  "created",
  "renamed",
  "overwritten",
  "skipped",
  "unchanged",
  "failed",
  "kept-for-resume",
  "deleted",
  "sent-raw",
] as const;

export const FileEvent = z.object({
  type: z.literal("file"),
  /** Which way: up (send), down (get), delete (rm). */
  direction: z.enum(["up", "down", "delete"]),
  /** The file as the user named it: a local path for `send`, a stored name for `get` and `rm`. */
  file: z.string(),
  outcome: z.enum(FILE_OUTCOMES),
  /** The stored name on the server (send: the name it was stored under; get, rm: the name asked for). */
  name: z.string().optional(),
  /** get: where the file was written. */
  path: z.string().optional(),
  size: count.optional(),
  /** The algorithm of the digest that follows (the connection's, or the one the server recorded for "unchanged"). */
  digest: digest.optional(),
  /** The bytes' SHA-256, when `digest` is "sha256". */
  sha256: sha256.optional(),
  /** The bytes' BLAKE3, when `digest` is "blake3" (then there is no `sha256`). */
  blake3: sha256.optional(),
  durationMs: z.number().min(0).optional(),
  /** Bytes that were already in place and not sent again (a resumed transfer). */
  resumedFrom: count.optional(),
  /** failed: a stable code (the server's, or LOCAL_FILE_ERROR, ABORTED…) and one line. */
  code: z.string().optional(),
  message: z.string().optional(),
  /** -n/--dry-run: `outcome` is what a real run would do; nothing was done. */
  dryRun: z.literal(true).optional(),
});

/** `ls`: one line per stored file. */
export const EntryEvent = z.object({
  type: z.literal("entry"),
  name: z.string(),
  size: count,
  mtime: count,
  /** What the file was recorded with: "sha256", "blake3", or null when the server never verified it. */
  digest: digest.nullable(),
  /** The recorded SHA-256; null for a file recorded with BLAKE3 or never verified. */
  sha256: sha256.nullable(),
  /** The recorded BLAKE3, for a file sent with --digest blake3. */
  blake3: sha256.optional(),
});

/**
 * `share`: a link made (`created`, with its `url`: the only place its secret appears), one of
 * `share --list`'s lines (`listed`), or a link withdrawn (`revoked`).
 */
export const LinkEvent = z.object({
  type: z.literal("link"),
  action: z.enum(["created", "listed", "revoked"]),
  /** The link's public handle (12 hex digits); `share --revoke` takes it. */
  fingerprint: z.string().regex(/^[0-9a-f]{12}$/),
  url: z.string().optional(),
  kind: z.enum(["download", "upload"]).optional(),
  paths: z.array(z.string()).optional(),
  /** ms since the epoch. */
  expiresAt: count.optional(),
  /** live, expired, or used-up (downloads exhausted). */
  state: z.enum(["live", "expired", "used-up"]).optional(),
  maxDownloads: count.nullable().optional(),
  downloads: count.optional(),
  password: z.boolean().optional(),
  maxBytes: count.nullable().optional(),
  maxFiles: count.nullable().optional(),
  uploadedBytes: count.optional(),
  uploadedFiles: count.optional(),
});

/** A failure that is not one file's: the connection, the server's trust, a bad argument. */
export const ErrorEvent = z.object({
  type: z.literal("error"),
  code: z.string(),
  message: z.string(),
  /** The argument or prompt line it concerns, when there is one. */
  file: z.string().optional(),
});

/** Last line: what was done, and the exit code ferry ends with. */
export const SummaryEvent = z.object({
  type: z.literal("summary"),
  files: z.object({ done: count, failed: count, skipped: count }),
  bytes: count,
  durationMs: z.number().min(0),
  exitCode: z.int(),
});

export const CliEventSchema = z.discriminatedUnion("type", [StartEvent, ProgressEvent, FileEvent, EntryEvent, LinkEvent, ErrorEvent, SummaryEvent]);
export type CliEvent = z.infer<typeof CliEventSchema>;
export type FileOutcome = (typeof FILE_OUTCOMES)[number];
