import { ClientError, type FerryClient } from "@ferry/client-core";
import type { ShareInfo } from "@ferry/protocol";
import ms from "ms";
import { EXIT } from "../exit-codes.js";
import type { Reporter } from "../report.js";
import { parseBytes, UsageError } from "../settings.js";
import { remoteName } from "./ls.js";

export interface ShareFlags {
  upload?: string;
  expires?: string;
  maxDownloads?: string;
  maxSize?: string;
  maxFiles?: string;
  password?: boolean;
  list?: boolean;
  revoke?: string;
}

interface ShareContext {
  connect: (signal: AbortSignal) => Promise<FerryClient>;
  signal: AbortSignal;
  reporter: Reporter;
  /** Asks for the link's password (--password): the environment, a hidden prompt, or a line of stdin. */
  readPassword: () => Promise<string>;
}

/** The longest a link may live (protocol.md §4.6). */
const MAX_SECONDS = 366 * 24 * 3600;

/** --expires 24h / 30m / 7d / 90s (the `ms` package's forms), at most 366 days. */
export function parseExpiry(text: string): number {
  const millis = ms(text as ms.StringValue);
  if (typeof millis !== "number" || !Number.isFinite(millis) || millis < 1000) {
    throw new UsageError(`--expires ${JSON.stringify(text)}: a duration such as 30m, 24h or 7d (at least 1s)`);
  }
  const seconds = Math.round(millis / 1000);
  if (seconds > MAX_SECONDS) throw new UsageError(`--expires ${JSON.stringify(text)}: at most 366d`);
  return seconds;
}

function positive(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`${flag} ${JSON.stringify(text)}: a whole number, at least 1`);
  return value;
}

/**
 * `ferry share PATH…` (download link), `ferry share --upload FOLDER` (drop-files link),
 * `ferry share --list`, `ferry share --revoke ID`. The URL goes alone on stdout, so
 * `url=$(ferry share report.pdf)` works; the rest of the human output goes to stderr.
 */
export async function shareCommand(paths: string[], flags: ShareFlags, ctx: ShareContext): Promise<number> {
  const modes = [paths.length > 0 ? "paths" : null, flags.upload !== undefined ? "--upload" : null, flags.list ? "--list" : null, flags.revoke !== undefined ? "--revoke" : null].filter(Boolean);
  if (modes.length !== 1) throw new UsageError("share takes paths to share, or exactly one of --upload FOLDER, --list, --revoke ID");
  if ((flags.list || flags.revoke !== undefined) && (flags.expires || flags.maxDownloads || flags.maxSize || flags.maxFiles || flags.password)) {
    throw new UsageError("--list and --revoke take no link options");
  }
  if (flags.upload === undefined && (flags.maxSize !== undefined || flags.maxFiles !== undefined)) throw new UsageError("--max-size and --max-files are for --upload links");
  if (flags.upload !== undefined && flags.maxDownloads !== undefined) throw new UsageError("--max-downloads is for download links");
  const expiresIn = parseExpiry(flags.expires ?? "24h");
  const maxDownloads = flags.maxDownloads === undefined ? undefined : positive("--max-downloads", flags.maxDownloads);
  const maxFiles = flags.maxFiles === undefined ? undefined : positive("--max-files", flags.maxFiles);
  const maxBytes = flags.maxSize === undefined ? undefined : parseBytes("--max-size", flags.maxSize);
  const password = flags.password ? await ctx.readPassword() : undefined;
  const client = await ctx.connect(ctx.signal);
  try {
    if (flags.list) {
      ctx.reporter.links(await withHint(client.listShares()), Date.now());
      return EXIT.OK;
    }
    if (flags.revoke !== undefined) {
      const handle = flags.revoke.replace(/^.*\/s\//, "").replace(/\/.*$/, "");
      ctx.reporter.linkRevoked(await withHint(client.revokeShare(handle)));
      return EXIT.OK;
    }
    const kind = flags.upload !== undefined ? "upload" : "download";
    const shared = await withHint(
      client.share({
        kind,
        paths: kind === "upload" ? [flags.upload === "" || flags.upload === "/" ? "" : remoteName(flags.upload!)] : paths.map(remoteName),
        expiresIn,
        ...(maxDownloads !== undefined ? { maxDownloads } : {}),
        ...(password !== undefined ? { password } : {}),
        ...(maxBytes !== undefined ? { maxBytes } : {}),
        ...(maxFiles !== undefined ? { maxFiles } : {}),
      }),
    );
    ctx.reporter.linkCreated(shared.url, shared.link);
    return EXIT.OK;
  } finally {
    await client.close();
  }
}

/** A server without its HTTP listener says so in one line that tells the operator what to do. */
async function withHint<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof ClientError && (error.code === "NOT_SUPPORTED" || error.code === "UNSUPPORTED")) {
      throw new ClientError("this server does not make share links: it runs without --http (ferry-server --http [HOST:]PORT turns them on)", { code: error.code });
    }
    throw error;
  }
}

/** live, expired, or used-up, as --list shows it. */
export function linkState(link: ShareInfo, now: number): "live" | "expired" | "used-up" {
  if (now >= link.expiresAt) return "expired";
  if (link.maxDownloads !== null && link.downloads >= link.maxDownloads) return "used-up";
  return "live";
}
