import { z } from "zod";
import { LIMITS } from "./wire-constants.js";

const port = z.int().min(0).max(65535);
const host = z.string().min(1);

/** Server configuration. Every field has a default, so `ServerConfigSchema.parse({})` is usable. */
export const ServerConfigSchema = z.strictObject({
  /** Address to bind. Loopback by default, as in the lab. */
  host: host.default("127.0.0.1"),
  /** TCP port; 0 lets the OS pick a free one. */
  port: port.default(8080),
  /** Storage directory; created if missing. Nothing is ever written outside it. */
  dir: z.string().min(1).default("ferry-data"),
  /** Connections served at once; one more gets a BUSY error and is closed. */
  maxClients: z.int().min(1).max(100_000).default(64),
  /** Connections served at once from one IP address; one more gets BUSY. */
  maxClientsPerIp: z.int().min(1).max(100_000).default(32),
  /** Uploads one connection may start; later PUTs get TOO_MANY_FILES (reconnect to go on). */
  maxFilesPerConnection: z.int().min(1).max(Number.MAX_SAFE_INTEGER).default(1_000_000),
  /** Accept connections that do not start with Ferry's magic as raw uploads (output<N>.txt). */
  raw: z.boolean().default(true),
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
  /** fsync each file (and its directory) before it is published. Turn off only for throwaway data. */
  fsync: z.boolean().default(true),
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
