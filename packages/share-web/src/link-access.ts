import { createHmac, timingSafeEqual } from "node:crypto";
import { checkSharePassword, shareEnded, shareFingerprint, shareKey, type FerryServer, type ShareRecord, type Space } from "@ferry/server-core";

/** A link secret as URLs carry it (newShareSecret makes 32 base64url characters; peers may use 22 to 64). */
const SECRET = /^[A-Za-z0-9_-]{22,64}$/;

/** A link found and usable: its record and the owner's space it reaches. */
export interface OpenLink {
  record: ShareRecord;
  fingerprint: string;
  space: Space;
}

/**
 * What a URL's secret leads to. Every way of not being usable answers the same two statuses,
 * decided by the link alone, before any file is looked at: 404 (no such link, revoked, its owner
 * or their permission withdrawn, or expired long ago and swept) and 410 (expired, or its downloads
 * used up). A visitor learns nothing about the files behind a link they cannot use.
 */
export type LinkLookup = { status: 200; link: OpenLink } | { status: 404 } | { status: 410; link: OpenLink; why: "expired" | "exhausted" };

export async function lookUpLink(server: FerryServer, secret: string, now: number): Promise<LinkLookup> {
  const shares = server.shares;
  if (!shares || !SECRET.test(secret)) return { status: 404 };
  const record = await shares.get(shareKey(secret));
  if (!record) return { status: 404 };
  const space = server.spaceForLink(record.owner, record.kind === "download" ? "read" : "write");
  if (!space) return { status: 404 };
  const link = { record, fingerprint: shareFingerprint(record.key), space };
  const ended = shareEnded(record, now);
  return ended ? { status: 410, link, why: ended } : { status: 200, link };
}

/** The cookie that remembers a visitor gave a link's password (scoped to the link's path). */
export function unlockCookieName(link: OpenLink): string {
  return `ferry-${link.fingerprint}`;
}

/**
 * The cookie's value: an HMAC of the link's key under its password hash. Only the server (which
 * holds the hash) can make it; it changes if the link is made again, and says nothing of the password.
 */
export function unlockToken(record: ShareRecord): string {
  return createHmac("sha256", record.password ?? "").update(record.key).digest("base64url");
}

/** Whether a request may use a password-protected link: the unlock cookie, or HTTP Basic with the password (any user name). */
export async function unlocked(link: OpenLink, cookies: Record<string, string>, authorization: string | undefined): Promise<boolean> {
  const { record } = link;
  if (record.password === null) return true;
  const cookie = cookies[unlockCookieName(link)];
  if (cookie !== undefined) {
    const expected = Buffer.from(unlockToken(record));
    const given = Buffer.from(cookie);
    if (given.length === expected.length && timingSafeEqual(given, expected)) return true;
  }
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(authorization ?? "");
  if (basic) {
    const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
    const password = decoded.slice(decoded.indexOf(":") + 1);
    return checkSharePassword(password, record.password);
  }
  return false;
}

/** Cookies of a request, by name (values as sent; ours are base64url). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (header ?? "").split(";")) {
    const at = pair.indexOf("=");
    if (at > 0) out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return out;
}

/** Whether a download link reaches the stored file `name`: it names it, or a folder holding it. */
export function reachesFile(record: ShareRecord, name: string): boolean {
  return record.paths.some((path) => path === name || (path.endsWith("/") || path === "" ? name.startsWith(path) && name !== path : false));
}

/** Whether a download link reaches folder `folder` (no trailing slash): it names it or a folder above it. */
export function reachesFolder(record: ShareRecord, folder: string): boolean {
  return record.paths.some((path) => path === "" || `${folder}/` === path || (path.endsWith("/") && `${folder}/`.startsWith(path)));
}
