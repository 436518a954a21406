import { z } from "zod";
import { pathProblem } from "./file-name.js";
import { parseFingerprint } from "./fingerprint.js";
import { DigestAlgorithmSchema, PermissionSchema } from "./messages.js";
import { LIMITS } from "./wire-constants.js";

const port = z.int().min(0).max(65535);
const host = z.string().min(1);

/** True for addresses only this machine can reach; an open server may bind only these by default. */
export function isLoopbackHost(address: string): boolean {
  return address === "localhost" || address === "::1" || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(address);
}

/**
 * One account. Only the SHA-256 of the token is kept: tokens are long random strings made by
 * `ferry-server token`, so a fast hash is enough (no dictionary to try) and lookups stay cheap.
 */
export const UserSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "1-64 letters, digits, '.', '_' or '-'"),
  /** Lowercase hex SHA-256 of the token's UTF-8 bytes. */
  tokenSha256: z.string().regex(/^[0-9a-f]{64}$/, "lowercase hex SHA-256 of the token"),
  permissions: z.array(PermissionSchema).min(1),
  /** Folder under the storage root that is this user's whole view; absent = the root itself. */
  dir: z
    .string()
    .refine((dir) => pathProblem(dir) === null, { message: "must be a relative folder path inside the storage root" })
    .optional(),
  /** Most bytes this user's folder may hold; uploads that would pass it get QUOTA_EXCEEDED. */
  quotaBytes: z.int().min(0).max(LIMITS.MAX_FILE_SIZE).optional(),
});
export type UserConfig = z.infer<typeof UserSchema>;

const users = z
  .array(UserSchema)
  .max(10_000)
  .refine((list) => new Set(list.map((u) => u.name)).size === list.length, { message: "user names must be unique" })
  .refine((list) => new Set(list.map((u) => u.tokenSha256)).size === list.length, { message: "tokens must be unique" });

/** Server configuration. Every field has a default, so `ServerConfigSchema.parse({})` is usable. */
export const ServerConfigSchema = z.strictObject({
  /** Address to bind. Loopback by default, as in the lab. */
  host: host.default("127.0.0.1"),
  /** TCP port; 0 lets the OS pick a free one. */
  port: port.default(8080),
  /** Storage directory; created if missing. Nothing is ever written outside it. */
  dir: z.string().min(1).default("ferry-data"),
  /**
   * Connections served at once. One more takes the slot of a connection only holding one (see
   * slotGraceMs), or gets BUSY. An idle connection costs the server ~20 KiB (docs/security.md).
   */
  maxClients: z.int().min(1).max(100_000).default(4096),
  /** Connections served at once from one IP address; one more gets BUSY. */
  maxClientsPerIp: z.int().min(1).max(100_000).default(32),
  /** Uploads one connection may start; later PUTs get TOO_MANY_FILES (reconnect to go on). */
  maxFilesPerConnection: z.int().min(1).max(Number.MAX_SAFE_INTEGER).default(1_000_000),
  /**
   * Accept connections that do not start with Ferry's magic as raw uploads (output<N>.txt).
   * Unset: on for an open plain-TCP server, off once users or TLS are configured (a raw peer cannot
   * authenticate). Setting it true with users is an explicit choice to let anyone write raw files.
   */
  raw: z.boolean().optional(),
  /** Accounts. None: the server is open to anyone who can reach it (as the lab was). */
  users: users.default([]),
  /** An open server (no users) refuses to bind a non-loopback address unless this is true. */
  allowAnonymous: z.boolean().default(false),
  /** PEM certificate chain and private key files; set = TLS only, no plain TCP. */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /** Delay before answering a bad token (ms); slows guessing. */
  authFailureDelayMs: z.int().min(0).max(60_000).default(1_000),
  /** Failed authentications one IP may make within authBlockMs before it is refused outright. */
  maxAuthFailures: z.int().min(1).max(1_000_000).default(5),
  /** Window over which failed authentications are counted, and how long a blocked IP stays blocked (ms). */
  authBlockMs: z.int().min(1).default(15 * 60 * 1000),
  /** Free bytes the storage disk must keep after an upload; a PUT that would go below gets NO_SPACE. */
  minFreeBytes: z.int().min(0).max(LIMITS.MAX_FILE_SIZE).default(64 * 1024 * 1024),
  /** A transfer (or a frame) in progress must move at least this many bytes per second, on average over rateWindowMs. */
  minBytesPerSecond: z.int().min(1).default(1024),
  /** Window over which the minimum data rate is judged (ms). */
  rateWindowMs: z.int().min(100).default(30_000),
  /** Largest file accepted, in bytes. */
  maxFileSize: z.int().min(0).max(LIMITS.MAX_FILE_SIZE).default(LIMITS.MAX_FILE_SIZE),
  /** Largest DATA frame payload accepted, in bytes; announced in WELCOME. */
  maxDataPayload: z.int().min(1024).max(16 * 1024 * 1024).default(LIMITS.MAX_DATA_PAYLOAD),
  /** Time allowed between connect and a complete HELLO (or the first raw bytes), in ms. */
  handshakeTimeoutMs: z.int().min(1).default(10_000),
  /** Time a connection may stay silent, in ms. */
  idleTimeoutMs: z.int().min(1).default(60_000),
  /** Resumable uploads nobody resumed are deleted after this long (ms). Default one day. */
  partialTtlMs: z.int().min(1).default(24 * 60 * 60 * 1000),
  /**
   * Interrupted resumable uploads kept per storage folder (a user's folder, or the root); starting
   * one more deletes the one interrupted longest ago.
   */
  maxPartials: z.int().min(1).max(1_000_000).default(100),
  /**
   * When the server is full, a new connection takes the slot of one that has sat this long (ms)
   * without authenticating (or, open server, without a request), else of the connection idle the
   * longest, if idle this long (protocol.md §7).
   */
  slotGraceMs: z.int().min(0).default(2_000),
  /** fsync each file (and its directory) before it is published. Turn off only for throwaway data. */
  fsync: z.boolean().default(true),
  /**
   * Cluster storage (docs/scale-out.md): file bytes in this S3 bucket, names in `db`. Given with
   * `db`, `dir` is only a scratch area. Credentials: here, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
   */
  s3: z
    .strictObject({
      endpoint: z.url({ protocol: /^https?$/ }),
      bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "3-63 lowercase letters, digits, '.' or '-'"),
      region: z.string().min(1).optional(),
      accessKeyId: z.string().min(1).optional(),
      secretAccessKey: z.string().min(1).optional(),
    })
    .optional(),
  /** PostgreSQL URL (postgres://user:password@host:port/database) of the cluster catalog; goes with `s3`. */
  db: z.string().regex(/^postgres(ql)?:\/\//, "a postgres:// URL").optional(),
  /**
   * The admin HTTP listener (/metrics, /healthz, /readyz; docs/operations.md), "host:port"; off when
   * absent. Beyond loopback it needs `tls` and `users`, as the data port does.
   */
  admin: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, "host:port, e.g. 127.0.0.1:9100")
    .optional(),
  /**
   * The HTTP(S) listener for share links (docs/sharing.md), "host:port"; off when absent. HTTPS
   * whenever `tls` is set. Beyond loopback an open server needs `allowAnonymous`, as the data port does.
   */
  http: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, "host:port, e.g. 0.0.0.0:8443")
    .optional(),
  /** The URL share links are made with when visitors reach the listener through a proxy or a name ("https://files.example.org"). */
  publicUrl: z.url({ protocol: /^https?$/ }).optional(),
  /**
   * Processes serving connections (`ferry-server --workers N`; docs/operations.md): absent, the
   * command takes the number of cores; 1 serves in one process. Every guarantee holds across them.
   */
  workers: z.int().min(1).max(1024).optional(),
  /** Cluster storage: bytes of file data held in memory on their way to the store, server-wide. */
  maxBufferedBytes: z.int().min(16 * 1024 * 1024).default(256 * 1024 * 1024),
}).refine((config) => (config.s3 === undefined) === (config.db === undefined), {
  message: "s3 (--s3-endpoint, --s3-bucket) and db (--db) go together: cluster storage needs both",
});
export type ServerConfig = z.infer<typeof ServerConfigSchema>;
export type ServerConfigInput = z.input<typeof ServerConfigSchema>;

/** Client configuration. */
export const ClientConfigSchema = z.strictObject({
  host: host.default("127.0.0.1"),
  port: port.default(8080),
  /** Bytes per DATA frame; capped by the server's announced limit. */
  chunkSize: z.int().min(1024).max(16 * 1024 * 1024).default(1024 * 1024),
  /** Time allowed for connect and handshake, in ms. */
  connectTimeoutMs: z.int().min(1).default(10_000),
  /** Agent string sent in HELLO. */
  agent: z.string().max(128).default("ferry-client-core"),
  /** Most bytes per second this connection sends, and receives, each way (--bwlimit). Absent: no limit. */
  bandwidthLimit: z.int().min(1).optional(),
  /** Token for servers with users. Sent in HELLO; never logged. */
  token: z.string().min(1).max(1024).optional(),
  /**
   * The transfer digest to ask for (protocol.md §4.7). "sha256" (the default) asks for nothing, as
   * v1 clients do; "blake3" offers BLAKE3 first, and the connection uses whatever WELCOME names.
   */
  digest: DigestAlgorithmSchema.default("sha256"),
  /**
   * Connect with TLS. The server is trusted when its chain verifies against `ca` (PEM text) or the
   * system CAs and matches the host name, or, when `fingerprint` is set, exactly when the
   * certificate's SHA-256 is that one (pinning; chain and name are then not consulted).
   */
  tls: z
    .strictObject({
      ca: z.string().min(1).optional(),
      fingerprint: z
        .string()
        .refine((text) => parseFingerprint(text) !== null, { message: "SHA256:<base64> or 64 hex digits" })
        .optional(),
      servername: z.string().min(1).optional(),
    })
    .optional(),
});
export type ClientConfig = z.infer<typeof ClientConfigSchema>;
export type ClientConfigInput = z.input<typeof ClientConfigSchema>;

/** Outcome of checking a config: the parsed value, or readable lines saying what is wrong. */
export type ConfigCheck<T> = { ok: true; config: T } | { ok: false; message: string };

function check<T>(schema: z.ZodType<T>, input: unknown): ConfigCheck<T> {
  const result = schema.safeParse(input);
  return result.success ? { ok: true, config: result.data } : { ok: false, message: z.prettifyError(result.error) };
}

/** Validates a server config (defaults filled in); errors come back as readable lines. */
export function checkServerConfig(input: unknown): ConfigCheck<ServerConfig> {
  return check(ServerConfigSchema, input);
}

/** Validates a client config (defaults filled in); errors come back as readable lines. */
export function checkClientConfig(input: unknown): ConfigCheck<ClientConfig> {
  return check(ClientConfigSchema, input);
}
