/**
 * Byte-level constants of Ferry protocol v1. docs/protocol.md is the normative text; every number
 * here appears there.
 */

/** First six bytes of every Ferry connection: 0x89 then ASCII "FERRY". 0x89 is not ASCII, so a text
 * stream (the lab client, nc, a shell redirect) never starts with it by accident. */
export const MAGIC = Uint8Array.of(0x89, 0x46, 0x45, 0x52, 0x52, 0x59);
/** Protocol version carried in the preamble as a big-endian u16 right after MAGIC. */
export const PROTOCOL_VERSION = 1;
export const VERSION_BYTES = 2;
export const PREAMBLE_BYTES = MAGIC.length + VERSION_BYTES;

/** Frame header: one type byte, then the payload length as a big-endian u32. */
export const TYPE_BYTES = 1;
export const LENGTH_BYTES = 4;
export const HEADER_BYTES = TYPE_BYTES + LENGTH_BYTES;

/** Frame types. Anything else is a protocol error. */
export const FRAME_TYPES = {
  /** UTF-8 JSON control message, validated against the message union. */
  CONTROL: 0x01,
  /** Raw file bytes of the transfer in progress. No JSON, no base64. */
  DATA: 0x02,
} as const;
export type FrameType = (typeof FRAME_TYPES)[keyof typeof FRAME_TYPES];

/** Limits every v1 peer must accept; a server may announce a larger data limit in WELCOME. */
export const LIMITS = {
  /** Largest CONTROL payload a v1 peer accepts. JSON messages are small; 64 KiB is generous. */
  MAX_CONTROL_PAYLOAD: 64 * 1024,
  /** Largest DATA payload a v1 peer accepts by default. */
  MAX_DATA_PAYLOAD: 1024 * 1024,
  /** Largest file name, in UTF-8 bytes (the common file-system limit). */
  MAX_NAME_BYTES: 255,
  /** Largest file size the wire can express exactly: JSON numbers are IEEE doubles. */
  MAX_FILE_SIZE: Number.MAX_SAFE_INTEGER,
  /** Upload ids are u32 chosen by the client. */
  MAX_ID: 0xffff_ffff,
  /** Entries per LISTING frame: 256 × (255-byte name + fields) stays well under the control limit. */
  MAX_LIST_PAGE: 256,
  /** Resume chunks: at least 1 MiB, at most 1 GiB, and at most 512 per file (512 × 67 B fits a frame). */
  MIN_RESUME_CHUNK: 1024 * 1024,
  MAX_RESUME_CHUNK: 1024 * 1024 * 1024,
  MAX_RESUME_CHUNKS: 512,
  /** PUT_BATCH: at most 128 files, each at most 64 KiB; the whole message at most 8 KiB of JSON. */
  MAX_BATCH_FILES: 128,
  MAX_BATCH_FILE: 64 * 1024,
  MAX_BATCH_PAYLOAD: 8 * 1024,
  /** SHARE: at most 32 paths per link, living at most a year; SHARES pages hold at most 32 links (32 × 32 × ~300 B fits a frame). */
  MAX_SHARE_PATHS: 32,
  MAX_SHARE_SECONDS: 366 * 24 * 3600,
  MAX_SHARE_PAGE: 32,
} as const;

/** Capabilities a server may announce in WELCOME; a client uses a feature only when announced. */
export const CAPABILITIES = {
  /** PUT / PUT_END / CANCEL (every v1 server). */
  UPLOAD: "upload",
  /** GET → GET_BEGIN, DATA…, GET_END. */
  DOWNLOAD: "download",
  /** LIST → LISTING pages. */
  LIST: "list",
  /** DELETE → DELETED. */
  DELETE: "delete",
  /** PUT.onConflict and STORED.outcome. */
  CONFLICT: "conflict",
  /** PUT.resume → PUT_OFFER, PUT_FROM: uploads continue after a lost connection or a restart. */
  RESUME: "resume",
  /** Names may be relative paths ("photos/2024/a.jpg"); LIST is recursive and takes a path. */
  FOLDERS: "folders",
  /** PUT_BATCH → BATCH_STORED: many small files in one request, one answer. */
  BATCH: "batch",
  /** PUT.skipIdentical / PUT_BATCH.skipIdentical → outcome "unchanged": re-sending a file makes no copy. */
  UNCHANGED: "unchanged",
  /** Empty folders travel: PUT of "dir/" (size 0) makes one, LIST.folders lists them, DELETE of "dir/" removes one. */
  EMPTY_FOLDERS: "empty-folders",
  /** SHARE, SHARE_LIST, SHARE_REVOKE: links for browsers and curl (announced when the server's HTTP listener is on). */
  SHARE: "share",
} as const;
