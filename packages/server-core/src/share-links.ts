import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import type { ShareInfo, ShareKind } from "@ferry/protocol";

/**
 * A share link as stored: the SHA-256 of its secret (the secret itself is only in the URL), whose
 * it is, what it reaches and what it has served. docs/sharing.md.
 */
export interface ShareRecord {
  /** Lowercase hex SHA-256 of the link's secret: how the link is found, never the secret itself. */
  key: string;
  /** The user who made it (null: an anonymous peer of an open server); it reaches only their folder. */
  owner: string | null;
  kind: ShareKind;
  /** Names inside the owner's folder: files, and folders ending in "/" ("" is the whole folder). */
  paths: string[];
  createdAt: number;
  expiresAt: number;
  maxDownloads: number | null;
  downloads: number;
  /** A salted scrypt hash (see hashSharePassword), or null for no password. */
  password: string | null;
  maxBytes: number | null;
  maxFiles: number | null;
  uploadedBytes: number;
  uploadedFiles: number;
}

/** Why a link no longer serves, or null if it does (expired, downloads used up). */
export function shareEnded(record: ShareRecord, now: number): "expired" | "exhausted" | null {
  if (now >= record.expiresAt) return "expired";
  if (record.maxDownloads !== null && record.downloads >= record.maxDownloads) return "exhausted";
  return null;
}

/** 24 random bytes (192 bits), base64url: the last part of a share URL. */
export function newShareSecret(): string {
  return randomBytes(24).toString("base64url");
}

/** What a link is stored and looked up under: the SHA-256 of its secret. */
export function shareKey(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** The short public handle `share --list` shows and `share --revoke` takes. */
export function shareFingerprint(key: string): string {
  return key.slice(0, 12);
}

/** What SHARED and SHARES carry: the record without its key, owner or password hash. */
export function shareInfo(record: ShareRecord): ShareInfo {
  return {
    fingerprint: shareFingerprint(record.key),
    kind: record.kind,
    paths: record.paths,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    maxDownloads: record.maxDownloads,
    downloads: record.downloads,
    password: record.password !== null,
    maxBytes: record.maxBytes,
    maxFiles: record.maxFiles,
    uploadedBytes: record.uploadedBytes,
    uploadedFiles: record.uploadedFiles,
  };
}

// scrypt at N=2^14, r=8, p=1 (the parameters RFC 7914 and OWASP name for interactive logins): ~50 ms
// and 16 MiB per check, which with the per-IP rate limit makes guessing a link's password slow.
const SCRYPT = { N: 16384, r: 8, p: 1 } as const;
const KEY_BYTES = 32;

function scryptAsync(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_BYTES, { ...params, maxmem: 64 * 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** "scrypt$N$r$p$salt$hash" (salt and hash base64url): what a password-protected link stores. */
export async function hashSharePassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT);
  return ["scrypt", SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/** Whether `password` is the one `stored` was made from (constant-time compare). */
export async function checkSharePassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64url");
  const key = await scryptAsync(password, Buffer.from(salt, "base64url"), { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}
