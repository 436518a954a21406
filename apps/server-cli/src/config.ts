import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { checkServerConfig, FerryError, type ServerConfig } from "@ferry/protocol";

/** Flags as commander hands them over (strings, or booleans for switches). */
export interface ServerFlags {
  host?: string;
  port?: string;
  dir?: string;
  maxClients?: string;
  maxClientsPerIp?: string;
  config?: string;
  raw?: boolean;
  fsync?: boolean;
  allowAnonymous?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  /** "auto": a self-signed certificate kept in the state dir. */
  tls?: string;
  stateDir?: string;
  s3Endpoint?: string;
  s3Bucket?: string;
  db?: string;
  admin?: string;
  http?: string;
  publicUrl?: string;
  workers?: string;
}

/** What the CLI does before the server starts: make (or reuse) a self-signed certificate there. */
export interface Prepared {
  config: ServerConfig;
  /** `--tls auto`: where the certificate lives. */
  autoTlsDir: string | null;
}

/** A bad flag, environment variable or config file value (exit 2). */
export class ConfigError extends FerryError<"INVALID_CONFIG"> {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: "INVALID_CONFIG", ...options });
  }
}

// FERRY_* variables and the config key each sets. The only place the server reads process.env.
const ENV_KEYS = {
  FERRY_HOST: "host",
  FERRY_PORT: "port",
  FERRY_DIR: "dir",
  FERRY_MAX_CLIENTS: "maxClients",
  FERRY_RAW: "raw",
  FERRY_FSYNC: "fsync",
  FERRY_MAX_FILE_SIZE: "maxFileSize",
  FERRY_IDLE_TIMEOUT_MS: "idleTimeoutMs",
  FERRY_HANDSHAKE_TIMEOUT_MS: "handshakeTimeoutMs",
  FERRY_PARTIAL_TTL_MS: "partialTtlMs",
  FERRY_MAX_PARTIALS: "maxPartials",
  FERRY_SLOT_GRACE_MS: "slotGraceMs",
  FERRY_MAX_CLIENTS_PER_IP: "maxClientsPerIp",
  FERRY_MAX_FILES_PER_CONNECTION: "maxFilesPerConnection",
  FERRY_ALLOW_ANONYMOUS: "allowAnonymous",
  FERRY_MIN_FREE_BYTES: "minFreeBytes",
  FERRY_MIN_BYTES_PER_SECOND: "minBytesPerSecond",
  FERRY_DB: "db",
  FERRY_ADMIN: "admin",
  FERRY_HTTP: "http",
  FERRY_PUBLIC_URL: "publicUrl",
  FERRY_WORKERS: "workers",
} as const;

const NUMERIC = new Set([
  "port",
  "maxClients",
  "maxFileSize",
  "idleTimeoutMs",
  "handshakeTimeoutMs",
  "partialTtlMs",
  "maxPartials",
  "slotGraceMs",
  "maxClientsPerIp",
  "maxFilesPerConnection",
  "minFreeBytes",
  "minBytesPerSecond",
  "workers",
]);
const BOOLEAN = new Set(["raw", "fsync", "allowAnonymous"]);

/** Where `--tls auto` keeps its certificate: --state-dir, FERRY_STATE_DIR, else the XDG state dir. */
export function stateDirFor(flags: ServerFlags, env: NodeJS.ProcessEnv): string {
  if (flags.stateDir) return flags.stateDir;
  if (env.FERRY_STATE_DIR) return env.FERRY_STATE_DIR;
  const base = env.XDG_STATE_HOME || path.join(homedir(), ".local", "state");
  return path.join(base, "ferry-server");
}

/** Parses a text value for `key` the way a shell user means it ("8080", "false"). */
function coerce(key: string, value: string, from: string): unknown {
  if (NUMERIC.has(key)) {
    if (!/^\d+$/.test(value.trim())) throw new ConfigError(`${from}: expected a whole number, got ${JSON.stringify(value)}`);
    return Number(value);
  }
  if (BOOLEAN.has(key)) {
    if (/^(1|true|yes|on)$/i.test(value)) return true;
    if (/^(0|false|no|off)$/i.test(value)) return false;
    throw new ConfigError(`${from}: expected true or false, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** defaults ← config file ← FERRY_* env ← flags, validated once. Throws ConfigError with readable lines. */
export async function loadServerConfig(flags: ServerFlags, env: NodeJS.ProcessEnv = process.env): Promise<Prepared> {
  const merged: Record<string, unknown> = {};
  if (flags.config) {
    let text: string;
    try {
      text = await readFile(flags.config, "utf8");
    } catch (error) {
      throw new ConfigError(`cannot read config file ${flags.config}: ${(error as Error).message}`);
    }
    try {
      Object.assign(merged, JSON.parse(text));
    } catch (error) {
      throw new ConfigError(`config file ${flags.config} is not valid JSON: ${(error as Error).message}`);
    }
  }
  for (const [variable, key] of Object.entries(ENV_KEYS)) {
    const value = env[variable];
    if (value !== undefined && value !== "") merged[key] = coerce(key, value, variable);
  }
  if (flags.host !== undefined) merged.host = flags.host;
  if (flags.port !== undefined) merged.port = coerce("port", flags.port, "--port");
  if (flags.dir !== undefined) merged.dir = flags.dir;
  if (flags.maxClients !== undefined) merged.maxClients = coerce("maxClients", flags.maxClients, "--max-clients");
  if (flags.maxClientsPerIp !== undefined) merged.maxClientsPerIp = coerce("maxClientsPerIp", flags.maxClientsPerIp, "--max-clients-per-ip");
  if (flags.raw !== undefined) merged.raw = flags.raw;
  if (flags.allowAnonymous) merged.allowAnonymous = true;
  let autoTlsDir: string | null = null;
  if (flags.tls !== undefined) {
    if (flags.tls !== "auto") throw new ConfigError(`--tls: the only mode is "auto" (or give --tls-cert and --tls-key)`);
    if (flags.tlsCert || flags.tlsKey) throw new ConfigError("--tls auto and --tls-cert/--tls-key exclude each other");
    autoTlsDir = stateDirFor(flags, env);
    // Stands in until the CLI has made the files; the schema only needs the two paths.
    merged.tls = { cert: path.join(autoTlsDir, "tls-cert.pem"), key: path.join(autoTlsDir, "tls-key.pem") };
  } else if (flags.tlsCert || flags.tlsKey) {
    if (!flags.tlsCert || !flags.tlsKey) throw new ConfigError("--tls-cert and --tls-key go together");
    merged.tls = { cert: flags.tlsCert, key: flags.tlsKey };
  }
  if (flags.fsync === false) merged.fsync = false;
  if (flags.db !== undefined) merged.db = flags.db;
  // --admin PORT alone binds loopback.
  if (flags.admin !== undefined) merged.admin = /^\d+$/.test(flags.admin) ? `127.0.0.1:${flags.admin}` : flags.admin;
  if (typeof merged.admin === "string" && /^\d+$/.test(merged.admin)) merged.admin = `127.0.0.1:${merged.admin}`;
  // --http PORT alone binds loopback too.
  if (flags.http !== undefined) merged.http = flags.http;
  if (typeof merged.http === "string" && /^\d+$/.test(merged.http)) merged.http = `127.0.0.1:${merged.http}`;
  if (flags.publicUrl !== undefined) merged.publicUrl = flags.publicUrl;
  if (flags.workers !== undefined) merged.workers = coerce("workers", flags.workers, "--workers");
  const s3 = { ...(merged.s3 as Record<string, unknown> | undefined) };
  if (env.FERRY_S3_ENDPOINT) s3.endpoint = env.FERRY_S3_ENDPOINT;
  if (env.FERRY_S3_BUCKET) s3.bucket = env.FERRY_S3_BUCKET;
  if (flags.s3Endpoint !== undefined) s3.endpoint = flags.s3Endpoint;
  if (flags.s3Bucket !== undefined) s3.bucket = flags.s3Bucket;
  if (Object.keys(s3).length > 0) merged.s3 = s3;
  const checked = checkServerConfig(merged);
  if (!checked.ok) throw new ConfigError(`invalid configuration:\n${checked.message}`);
  return { config: checked.config, autoTlsDir };
}
