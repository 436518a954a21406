import { z } from "zod";
import { WIRE_CODE_PATTERN, WIRE_ERROR_CODES, type ReceivedWireCode, type UnknownWireCode } from "./error-codes.js";
import { LIMITS } from "./wire-constants.js";

// Building blocks. z.int() only admits safe integers, so sizes beyond 2^53 fail validation.
const id = z.int().min(0).max(LIMITS.MAX_ID);
const size = z.int().min(0).max(LIMITS.MAX_FILE_SIZE);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "lowercase hex SHA-256");
// Names (and folder paths) are any string here: the rules, length included, live in file-name.ts
// and are applied by the receiver, which answers a bad name with BAD_NAME rather than kill the
// connection (protocol.md §6). The CONTROL frame limit bounds them.
const name = z.string();
const agent = z.string().max(128);
// An ERROR's code: one of WIRE_ERROR_CODES, or an unknown one of the same shape (from a newer peer).
const wireCode = z.union([z.enum(WIRE_ERROR_CODES), z.string().regex(WIRE_CODE_PATTERN).transform((code) => code as UnknownWireCode)]) as z.ZodType<ReceivedWireCode, string>;

/** What an authenticated user may do. read: GET and LIST; write: PUT; delete: DELETE and PUT with overwrite. */
export const PERMISSIONS = ["read", "write", "delete"] as const;
export const PermissionSchema = z.enum(PERMISSIONS);
export type Permission = z.infer<typeof PermissionSchema>;

/**
 * The digests a transfer can be checked with. SHA-256 is every connection's default and what a
 * file is normally recorded with; BLAKE3 is the opt-in a client asks for in HELLO.digests.
 */
export const DIGEST_ALGORITHMS = ["sha256", "blake3"] as const;
export const DigestAlgorithmSchema = z.enum(DIGEST_ALGORITHMS);
export type DigestAlgorithm = z.infer<typeof DigestAlgorithmSchema>;
/** A digest with its algorithm named: what a file is recorded with, or a transfer was checked with. */
export interface FileDigest {
  algorithm: DigestAlgorithm;
  /** Lowercase hex, 64 digits for both algorithms. */
  hex: string;
}
/** How people write each digest's name. */
export const DIGEST_NAMES: Readonly<Record<DigestAlgorithm, string>> = { sha256: "SHA-256", blake3: "BLAKE3" };

/** Client → server, first frame after the preamble. */
export const HelloSchema = z.strictObject({
  type: z.literal("hello"),
  version: z.int().min(1).max(0xffff),
  agent,
  /** Bearer token for servers with users; sent only inside TLS or on a network the user trusts. */
  token: z.string().min(1).max(1024).optional(),
  /**
   * The transfer digests the client would use, preferred first (protocol.md §4.7). Absent: SHA-256.
   * The server picks one it can compute and names it in WELCOME.digest.
   */
  digests: z.array(DigestAlgorithmSchema).min(1).max(DIGEST_ALGORITHMS.length).optional(),
});

/** Server → client, answer to HELLO: the server's limits and what it can do. */
export const WelcomeSchema = z.strictObject({
  type: z.literal("welcome"),
  version: z.int().min(1).max(0xffff),
  agent,
  limits: z.strictObject({
    maxDataPayload: z.int().min(1).max(0xffff_ffff),
    maxFileSize: size,
  }),
  capabilities: z.array(z.string().max(64)).max(64),
  /**
   * Only in answer to a HELLO with `digests`: the one this connection uses. Every transfer digest
   * of the connection (the hex fields named sha256 in PUT_OFFER, PUT_END, STORED, PUT_BATCH,
   * GET.resume and GET_END) is then of this algorithm. Absent: SHA-256.
   */
  digest: DigestAlgorithmSchema.optional(),
  /** Present when the server authenticated HELLO's token: who we are and what we may do. */
  user: z
    .strictObject({
      name: z.string().min(1).max(64),
      permissions: z.array(PermissionSchema).max(PERMISSIONS.length),
    })
    .optional(),
});

/** What to do when an upload's (or download's) name is taken. Capability "conflict". */
export const CONFLICT_POLICIES = ["rename", "overwrite", "skip", "fail"] as const;
export const ConflictPolicySchema = z.enum(CONFLICT_POLICIES);
export type ConflictPolicy = z.infer<typeof ConflictPolicySchema>;

/**
 * What publishing did with a name: created it, took `name (N).ext` instead (rename), replaced the
 * file there (overwrite), or kept the existing file and dropped the new one (skip).
 */
/** "unchanged": the name already held these very bytes (PUT.skipIdentical); nothing was stored. */
export const PUBLISH_OUTCOMES = ["created", "renamed", "overwritten", "skipped", "unchanged"] as const;
export const PublishOutcomeSchema = z.enum(PUBLISH_OUTCOMES);
export type PublishOutcome = z.infer<typeof PublishOutcomeSchema>;

/** A resumable upload's identity and chunking. Capability "resume". */
export const ResumeSchema = z.strictObject({
  /** Chosen by the client, stable across attempts at the same transfer (hex, so it is file-name safe). */
  key: z.string().regex(/^[0-9a-f]{32,64}$/),
  /** Bytes per journalled chunk; the server makes each whole chunk durable before recording it. */
  chunkSize: z.int().min(LIMITS.MIN_RESUME_CHUNK).max(LIMITS.MAX_RESUME_CHUNK),
});

/** Client → server: start an upload. DATA frames with exactly `size` bytes follow. */
export const PutSchema = z.strictObject({
  type: z.literal("put"),
  id,
  name,
  size,
  /** Absent means "rename" (v1 behaviour). Only sent to servers announcing "conflict". */
  onConflict: ConflictPolicySchema.optional(),
  /** Present: the server answers PUT_OFFER and waits for PUT_FROM before any DATA. */
  resume: ResumeSchema.optional(),
  /**
   * true: if the name already holds a file of this size whose recorded SHA-256 is that of the bytes
   * received, keep it and answer outcome "unchanged" (no copy). Only to servers announcing "unchanged".
   */
  skipIdentical: z.literal(true).optional(),
});

/** Server → client: what a resumable upload already has: `offset` bytes, as per-chunk SHA-256s. */
export const PutOfferSchema = z.strictObject({
  type: z.literal("put_offer"),
  id,
  offset: size,
  chunks: z.array(sha256).max(LIMITS.MAX_RESUME_CHUNKS),
});

/** Client → server: DATA follows from `offset` (the offer, or 0 to start over). */
export const PutFromSchema = z.strictObject({
  type: z.literal("put_from"),
  id,
  offset: size,
});

/** Client → server: all bytes are sent; this is their SHA-256. */
export const PutEndSchema = z.strictObject({
  type: z.literal("put_end"),
  id,
  sha256,
});

/** Client → server: give up the upload in progress. */
export const CancelSchema = z.strictObject({
  type: z.literal("cancel"),
  id,
});

/** Server → client: the upload is verified, durable and published under `name`. */
export const StoredSchema = z.strictObject({
  type: z.literal("stored"),
  id,
  name,
  size,
  sha256,
  /** Only in answer to a PUT that carried `onConflict`: what happened to the name. */
  outcome: PublishOutcomeSchema.optional(),
});

/** One file of a PUT_BATCH: its name, size and the SHA-256 of its bytes, declared up front. */
export const BatchFileSchema = z.strictObject({
  name,
  size: z.int().min(0).max(LIMITS.MAX_BATCH_FILE),
  sha256,
});

/**
 * Client → server: many small files in one request (capability "batch"). DATA frames carrying the
 * files' bytes back to back, exactly the sum of their sizes, follow; no PUT_END. One answer:
 * BATCH_STORED (or ERROR{id, CANCELLED} after a CANCEL).
 */
export const PutBatchSchema = z.strictObject({
  type: z.literal("put_batch"),
  id,
  files: z.array(BatchFileSchema).min(1).max(LIMITS.MAX_BATCH_FILES),
  onConflict: ConflictPolicySchema.optional(),
  /** As PUT.skipIdentical, for every file of the batch. */
  skipIdentical: z.literal(true).optional(),
});

/** One file's fate in BATCH_STORED: stored (under `name`), or refused with a code. */
export const BatchResultSchema = z.union([
  z.strictObject({ name, outcome: PublishOutcomeSchema }),
  z.strictObject({ code: wireCode, message: z.string().max(128) }),
]);

/** Server → client: the answer to PUT_BATCH, one result per file, in the order of `files`. */
export const BatchStoredSchema = z.strictObject({
  type: z.literal("batch_stored"),
  id,
  results: z.array(BatchResultSchema).min(1).max(LIMITS.MAX_BATCH_FILES),
});

/** Client → server: send me the stored file `name`. Capability "download". */
export const GetSchema = z.strictObject({
  type: z.literal("get"),
  id,
  name,
  /** Capability "resume": the client holds these leading chunks already; skip what matches. */
  resume: z
    .strictObject({
      chunkSize: z.int().min(LIMITS.MIN_RESUME_CHUNK).max(LIMITS.MAX_RESUME_CHUNK),
      chunks: z.array(sha256).max(LIMITS.MAX_RESUME_CHUNKS),
    })
    .optional(),
});

/** Server → client: `size` bytes of `name` follow in DATA frames (from `offset`, if resumed), then GET_END. */
export const GetBeginSchema = z.strictObject({
  type: z.literal("get_begin"),
  id,
  name,
  size,
  /** Only in answer to a GET with `resume`: the bytes before it match and are not sent. */
  offset: size.optional(),
});

/** Server → client: all bytes of the download are sent; this is their SHA-256. */
export const GetEndSchema = z.strictObject({
  type: z.literal("get_end"),
  id,
  sha256,
});

/** Client → server: list the stored files (under folder `path`, with capability "folders"). Capability "list". */
export const ListSchema = z.strictObject({
  type: z.literal("list"),
  id,
  path: name.optional(),
  /** true (capability "empty-folders"): empty folders are listed too, as entries whose name ends in "/". */
  folders: z.literal(true).optional(),
});

/**
 * One stored file as LISTING reports it, with the digest it was recorded with: `sha256`, or (a file
 * uploaded over a BLAKE3 connection) `sha256: null` and `blake3`. Both null/absent: never verified.
 */
export const ListEntrySchema = z.strictObject({
  name,
  size,
  /** Modification time, milliseconds since the Unix epoch. */
  mtime: z.int().min(0).max(LIMITS.MAX_FILE_SIZE),
  sha256: sha256.nullable(),
  blake3: sha256.optional(),
});
export type ListEntry = z.infer<typeof ListEntrySchema>;

/** How LISTING shows a recorded digest (protocol.md §4.3): `sha256`, or `sha256: null` beside `blake3`. */
export function listedDigest(digest: FileDigest | null): Pick<ListEntry, "sha256" | "blake3"> {
  if (!digest) return { sha256: null };
  return digest.algorithm === "sha256" ? { sha256: digest.hex } : { sha256: null, blake3: digest.hex };
}

/** The recorded digest a LISTING entry shows (the inverse of listedDigest). */
export function entryDigest(entry: Pick<ListEntry, "sha256" | "blake3">): FileDigest | null {
  if (entry.sha256 !== null) return { algorithm: "sha256", hex: entry.sha256 };
  return entry.blake3 === undefined ? null : { algorithm: "blake3", hex: entry.blake3 };
}

/** True when two recorded digests name the same bytes: same algorithm and value (across algorithms: never). */
export function sameDigest(a: FileDigest | null, b: FileDigest | null): boolean {
  return a !== null && b !== null && a.algorithm === b.algorithm && a.hex === b.hex;
}

/** Server → client: a page of the listing; pages for one LIST share its id, the last has more=false. */
export const ListingSchema = z.strictObject({
  type: z.literal("listing"),
  id,
  entries: z.array(ListEntrySchema).max(LIMITS.MAX_LIST_PAGE),
  more: z.boolean(),
});

/** Client → server: delete the stored file `name`. Capability "delete". */
export const DeleteSchema = z.strictObject({
  type: z.literal("delete"),
  id,
  name,
});

/** Server → client: `name` is deleted. */
export const DeletedSchema = z.strictObject({
  type: z.literal("deleted"),
  id,
  name,
});

/** What a share link gives: the named files and folders to read, or a folder to drop files into. */
export const SHARE_KINDS = ["download", "upload"] as const;
export const ShareKindSchema = z.enum(SHARE_KINDS);
export type ShareKind = z.infer<typeof ShareKindSchema>;
/** A link's public handle: the first 12 hex digits of the SHA-256 of its secret id. */
const shareFingerprint = z.string().regex(/^[0-9a-f]{12}$/);
// 512 UTF-16 units (≤ 1.5 KiB of UTF-8) × 32 paths keeps a link, and so SHARE and a SHARES page of one, inside a CONTROL frame.
const sharePath = z.string().max(512);
const count = z.int().min(0).max(LIMITS.MAX_FILE_SIZE);

/**
 * Client → server: make a share link (capability "share"). `paths` are the user's files and
 * folders ("dir/" or "dir" for a folder); an upload link takes exactly one folder ("" is the user's root).
 */
export const ShareSchema = z.strictObject({
  type: z.literal("share"),
  id,
  kind: ShareKindSchema,
  paths: z.array(sharePath).min(1).max(LIMITS.MAX_SHARE_PATHS),
  /** The link stops working this many seconds after it is made. */
  expiresIn: z.int().min(1).max(LIMITS.MAX_SHARE_SECONDS),
  /** Download links: how many downloads (a file, or a folder's zip) it serves before it stops. */
  maxDownloads: z.int().min(1).max(LIMITS.MAX_FILE_SIZE).optional(),
  /** Visitors must give this password (stored as a salted scrypt hash, never kept as sent). */
  password: z.string().min(1).max(256).optional(),
  /** Upload links: at most this many bytes and files in all. */
  maxBytes: size.optional(),
  maxFiles: z.int().min(1).max(LIMITS.MAX_FILE_SIZE).optional(),
});

/** A share link as the server describes it: everything but its secret id. */
export const ShareInfoSchema = z.strictObject({
  fingerprint: shareFingerprint,
  kind: ShareKindSchema,
  paths: z.array(sharePath).max(LIMITS.MAX_SHARE_PATHS),
  /** Milliseconds since the Unix epoch. */
  createdAt: count,
  expiresAt: count,
  maxDownloads: count.nullable(),
  downloads: count,
  password: z.boolean(),
  maxBytes: count.nullable(),
  maxFiles: count.nullable(),
  uploadedBytes: count,
  uploadedFiles: count,
});
export type ShareInfo = z.infer<typeof ShareInfoSchema>;

/** Server → client: the link is made. `url` ends in /s/`secret`; the server keeps only a hash of `secret`. */
export const SharedSchema = z.strictObject({
  type: z.literal("shared"),
  id,
  url: z.string().min(1).max(2048),
  secret: z.string().regex(/^[A-Za-z0-9_-]{22,64}$/),
  link: ShareInfoSchema,
});

/** Client → server: list my share links, live and expired (capability "share"). */
export const ShareListSchema = z.strictObject({
  type: z.literal("share_list"),
  id,
});

/** Server → client: a page of the links; pages for one SHARE_LIST share its id, the last has more=false. */
export const SharesSchema = z.strictObject({
  type: z.literal("shares"),
  id,
  links: z.array(ShareInfoSchema).max(LIMITS.MAX_SHARE_PAGE),
  more: z.boolean(),
});

/** Client → server: withdraw a link of mine, named by its secret or its fingerprint. */
export const ShareRevokeSchema = z.strictObject({
  type: z.literal("share_revoke"),
  id,
  link: z.string().min(1).max(128),
});

/** Server → client: the link is gone; its URL answers 404 from now on. */
export const ShareRevokedSchema = z.strictObject({
  type: z.literal("share_revoked"),
  id,
  fingerprint: shareFingerprint,
});

/** Either direction: something failed. With `id` it concerns that upload only. */
export const ErrorMessageSchema = z.strictObject({
  type: z.literal("error"),
  id: id.optional(),
  code: wireCode,
  message: z.string().max(1024),
});

/** Messages a client sends (§4). A server decodes every message and refuses these others as UNEXPECTED_MESSAGE. */
export const CLIENT_MESSAGE_SCHEMAS = [
  HelloSchema,
  PutSchema,
  PutFromSchema,
  PutEndSchema,
  PutBatchSchema,
  CancelSchema,
  GetSchema,
  ListSchema,
  DeleteSchema,
  ShareSchema,
  ShareListSchema,
  ShareRevokeSchema,
] as const;

/** Messages a server sends (§4); ERROR may also come from a client (§8). */
export const SERVER_MESSAGE_SCHEMAS = [
  WelcomeSchema,
  PutOfferSchema,
  StoredSchema,
  BatchStoredSchema,
  GetBeginSchema,
  GetEndSchema,
  ListingSchema,
  DeletedSchema,
  SharedSchema,
  SharesSchema,
  ShareRevokedSchema,
  ErrorMessageSchema,
] as const;

/** Every control message of protocol v1, discriminated on `type`: what a decoder accepts. */
export const MessageSchema = z.discriminatedUnion("type", [...CLIENT_MESSAGE_SCHEMAS, ...SERVER_MESSAGE_SCHEMAS]);
export const ClientMessageSchema = z.discriminatedUnion("type", [...CLIENT_MESSAGE_SCHEMAS]);
export const ServerMessageSchema = z.discriminatedUnion("type", [...SERVER_MESSAGE_SCHEMAS]);

export type Message = z.infer<typeof MessageSchema>;
export type ClientMessage = z.infer<typeof ClientMessageSchema>;
export type ServerMessage = z.infer<typeof ServerMessageSchema>;
export type MessageType = Message["type"];
/**
 * Messages that begin a streaming reply: DATA frames for the same request follow them, until that
 * request's next control message (its end, or an ERROR). Only GET_BEGIN in protocol v1.
 */
export const STREAM_BEGINS: ReadonlySet<MessageType> = new Set<MessageType>(["get_begin"]);

/** Every message type, for tests and tables that must cover them all. */
export const MESSAGE_TYPES = MessageSchema.options.map((schema) => schema.shape.type.value) as MessageType[];
export type HelloMessage = z.infer<typeof HelloSchema>;
export type WelcomeMessage = z.infer<typeof WelcomeSchema>;
export type PutMessage = z.infer<typeof PutSchema>;
export type PutEndMessage = z.infer<typeof PutEndSchema>;
export type CancelMessage = z.infer<typeof CancelSchema>;
export type StoredMessage = z.infer<typeof StoredSchema>;
export type ErrorMessage = z.infer<typeof ErrorMessageSchema>;
export type GetMessage = z.infer<typeof GetSchema>;
export type GetBeginMessage = z.infer<typeof GetBeginSchema>;
export type GetEndMessage = z.infer<typeof GetEndSchema>;
export type ListMessage = z.infer<typeof ListSchema>;
export type ListingMessage = z.infer<typeof ListingSchema>;
export type DeleteMessage = z.infer<typeof DeleteSchema>;
export type DeletedMessage = z.infer<typeof DeletedSchema>;
export type PutOfferMessage = z.infer<typeof PutOfferSchema>;
export type PutFromMessage = z.infer<typeof PutFromSchema>;
export type ResumeInfo = z.infer<typeof ResumeSchema>;
export type PutBatchMessage = z.infer<typeof PutBatchSchema>;
export type BatchFile = z.infer<typeof BatchFileSchema>;
export type BatchResult = z.infer<typeof BatchResultSchema>;
export type BatchStoredMessage = z.infer<typeof BatchStoredSchema>;
export type ShareMessage = z.infer<typeof ShareSchema>;
export type SharedMessage = z.infer<typeof SharedSchema>;
export type ShareListMessage = z.infer<typeof ShareListSchema>;
export type SharesMessage = z.infer<typeof SharesSchema>;
export type ShareRevokeMessage = z.infer<typeof ShareRevokeSchema>;
export type ShareRevokedMessage = z.infer<typeof ShareRevokedSchema>;

/** For exhaustive switches: the compiler proves this is unreachable. */
export function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
