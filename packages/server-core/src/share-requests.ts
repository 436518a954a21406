import { LIMITS, type ShareInfo, type ShareListMessage, type ShareMessage, type ShareRevokeMessage, type ServerMessage } from "@ferry/protocol";
import type { Identity } from "./auth.js";
import { ServerError } from "./errors.js";
import type { PeerInfo, ServerEvents } from "./events.js";
import { hashSharePassword, newShareSecret, shareFingerprint, shareInfo, shareKey, type ShareRecord } from "./share-links.js";
import type { ShareStore } from "./share-store.js";
import type { Storage } from "./storage.js";

/** What SHARE, SHARE_LIST and SHARE_REVOKE need from their connection. */
export interface ShareRequestContext {
  /** The links, or null when the server's HTTP listener is off (no capability "share"). */
  shares: ShareStore | null;
  /** The URL a link's path is appended to ("https://host:port"), as this connection reached the server. */
  baseUrl(): string;
  identity: Identity;
  storage: Storage;
  peer: PeerInfo;
  send(message: ServerMessage): void;
  emit<K extends keyof ServerEvents>(event: K, ...args: ServerEvents[K]): void;
}

/** Expired links still answer 410 Gone for this long; then they are deleted and answer 404. */
export const EXPIRED_LINK_KEPT_MS = 7 * 24 * 3600 * 1000;

function store(ctx: ShareRequestContext): ShareStore {
  if (!ctx.shares) throw new ServerError("this server does not make share links (its HTTP listener is off)", { code: "UNSUPPORTED" });
  return ctx.shares;
}

/**
 * SHARE: checks the permission (download links need read, upload links write), that every path
 * names a stored file or folder (an upload folder may be new), then stores the link under the
 * hash of a fresh 192-bit secret and answers SHARED with the URL. The secret is not kept.
 */
export async function serveShare(ctx: ShareRequestContext, request: ShareMessage): Promise<void> {
  const shares = store(ctx);
  const need = request.kind === "download" ? "read" : "write";
  if (!ctx.identity.can(need)) {
    throw new ServerError(`user ${ctx.identity.user?.name ?? "?"} lacks the ${need} permission a ${request.kind} link needs`, { code: "FORBIDDEN" });
  }
  const paths = request.kind === "download" ? await downloadPaths(ctx.storage, request.paths) : [uploadFolder(ctx.storage, request.paths)];
  const now = Date.now();
  const secret = newShareSecret();
  const record: ShareRecord = {
    key: shareKey(secret),
    owner: ctx.identity.user?.name ?? null,
    kind: request.kind,
    paths,
    createdAt: now,
    expiresAt: now + request.expiresIn * 1000,
    maxDownloads: request.kind === "download" ? (request.maxDownloads ?? null) : null,
    downloads: 0,
    password: request.password === undefined ? null : await hashSharePassword(request.password),
    maxBytes: request.kind === "upload" ? (request.maxBytes ?? null) : null,
    maxFiles: request.kind === "upload" ? (request.maxFiles ?? null) : null,
    uploadedBytes: 0,
    uploadedFiles: 0,
  };
  await shares.create(record);
  const link = shareInfo(record);
  ctx.send({ type: "shared", id: request.id, url: `${ctx.baseUrl()}/s/${secret}`, secret, link });
  ctx.emit("share-created", { ...ctx.peer, fingerprint: link.fingerprint, kind: link.kind, paths: link.paths, expiresAt: link.expiresAt });
}

/** SHARE_LIST: the peer's own links (live, expired, used up), oldest first, in pages. */
export async function serveShareList(ctx: ShareRequestContext, request: ShareListMessage): Promise<void> {
  const links = (await store(ctx).list(ctx.identity.user?.name ?? null)).map(shareInfo);
  let at = 0;
  do {
    const page = nextPage(links, at);
    at += page.length;
    ctx.send({ type: "shares", id: request.id, links: page, more: at < links.length });
  } while (at < links.length);
}

/** SHARE_REVOKE: deletes one of the peer's links, named by secret or fingerprint; NOT_FOUND for anything else. */
export async function serveShareRevoke(ctx: ShareRequestContext, request: ShareRevokeMessage): Promise<void> {
  const handle = /^[A-Za-z0-9_-]{22,64}$/.test(request.link) && !/^[0-9a-f]{12,64}$/.test(request.link) ? shareKey(request.link) : request.link;
  const removed = await store(ctx).remove(ctx.identity.user?.name ?? null, handle);
  if (!removed) throw new ServerError(`no share link of yours is named ${request.link}`, { code: "NOT_FOUND" });
  const fingerprint = shareFingerprint(removed.key);
  ctx.send({ type: "share_revoked", id: request.id, fingerprint });
  ctx.emit("share-revoked", { ...ctx.peer, fingerprint });
}

/**
 * A download link's paths as stored: each a stored file, or a folder written with a trailing "/"
 * (given with or without it). Duplicates are dropped; NOT_FOUND names the first that is neither.
 */
async function downloadPaths(storage: Storage, paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const given of paths) {
    const bare = given.replace(/\/+$/, "");
    if (bare === "") {
      out.push("");
      continue;
    }
    storage.checkName(bare);
    let found: string | null = null;
    if (!given.endsWith("/")) {
      try {
        (await storage.openForRead(bare)).close();
        found = bare;
      } catch (error) {
        if (!(error instanceof ServerError && error.code === "NOT_FOUND")) throw error;
      }
    }
    if (found === null) {
      try {
        await storage.list(bare);
        found = `${bare}/`;
      } catch (error) {
        if (!(error instanceof ServerError && error.code === "NOT_FOUND")) throw error;
        throw new ServerError(`${given} is neither a stored file nor a folder`, { code: "NOT_FOUND" });
      }
    }
    if (!out.includes(found)) out.push(found);
  }
  return out;
}

/** An upload link's one folder ("" for the whole of the user's folder), checked as a name would be. */
function uploadFolder(storage: Storage, paths: string[]): string {
  if (paths.length !== 1) throw new ServerError("an upload link takes exactly one folder", { code: "BAD_NAME" });
  const bare = paths[0]!.replace(/\/+$/, "");
  if (bare === "") return "";
  storage.checkName(bare);
  return `${bare}/`;
}

// As LISTING: a page's JSON stays under the CONTROL limit whatever the paths (a link is ≤ ~50 KiB).
const PAGE_BYTES = LIMITS.MAX_CONTROL_PAYLOAD - 1024;

function nextPage(links: ShareInfo[], at: number): ShareInfo[] {
  let bytes = 0;
  let end = at;
  while (end < links.length && end - at < LIMITS.MAX_SHARE_PAGE) {
    const linkBytes = Buffer.byteLength(JSON.stringify(links[end])) + 1;
    if (end > at && bytes + linkBytes > PAGE_BYTES) break;
    bytes += linkBytes;
    end++;
  }
  return links.slice(at, end);
}
