import { UsageError } from "./settings.js";

/** A `ferry://[user@]host[:port]/path` argument, taken apart. */
export interface FerryUrl {
  host: string;
  port?: number;
  /** The stored path ("" for the whole store), percent-decoded; a trailing "/" names a folder. */
  path: string;
  user?: string;
}

/**
 * Parses a ferry:// URL (any other argument: null). The scp-like `host:path` form is not taken: a
 * local file may be called `notes:v2`, and the two could not be told apart; `ferry://` cannot be a
 * local file name by accident (it would be the folder `ferry:` holding an empty name).
 */
export function parseFerryUrl(arg: string): FerryUrl | null {
  if (!/^ferry:\/\//i.test(arg)) return null;
  let url: URL;
  try {
    url = new URL(arg);
  } catch {
    throw new UsageError(`${JSON.stringify(arg)} is not a valid ferry:// URL (ferry://[user@]host[:port]/path)`);
  }
  if (url.search || url.hash || url.password) throw new UsageError(`${JSON.stringify(arg)}: a ferry:// URL has no password, query or fragment (the token goes in FERRY_TOKEN)`);
  if (!url.hostname) throw new UsageError(`${JSON.stringify(arg)}: no host`);
  const path = url.pathname
    .replace(/^\/+/, "")
    .split("/")
    .map((part) => decodeURIComponent(part))
    .join("/");
  return {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    ...(url.port ? { port: Number(url.port) } : {}),
    path,
    ...(url.username ? { user: decodeURIComponent(url.username) } : {}),
  };
}

/**
 * Rewrites the arguments of get, ls and rm: each ferry:// URL becomes its path, and the server it
 * names (one per command) is returned for --host/--port.
 */
export function urlArguments(args: readonly string[]): { args: string[]; server?: { host: string; port?: number } } {
  let server: { host: string; port?: number } | undefined;
  const out = args.map((arg) => {
    const url = parseFerryUrl(arg);
    if (!url) return arg;
    if (server && (server.host !== url.host || server.port !== url.port)) throw new UsageError("every ferry:// URL of one command must name the same server");
    server = { host: url.host, ...(url.port !== undefined ? { port: url.port } : {}) };
    return url.path;
  });
  return { args: out, ...(server ? { server } : {}) };
}
