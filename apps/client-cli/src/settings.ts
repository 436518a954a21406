import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { checkClientConfig, DIGEST_ALGORITHMS, FerryError, isLoopbackHost, type ClientConfig } from "@ferry/protocol";

/** Global flags shared by every command. */
export interface GlobalFlags {
  host?: string;
  port?: string;
  json?: boolean;
  quiet?: boolean;
  token?: string;
  tls?: boolean;
  ca?: string;
  fingerprint?: string;
  acceptNew?: boolean;
  config?: string;
  bwlimit?: string;
  digest?: string;
}

/** Bad flags or arguments (exit 2). */
export class UsageError extends FerryError<"USAGE"> {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: "USAGE", ...options });
  }
}

/** What the commands need: the validated client config and how to decide TLS trust. */
export interface Settings {
  config: ClientConfig;
  knownHostsFile: string;
  acceptNew: boolean;
  /** Things the user should know (a token going out in clear, a readable config file). */
  warnings: string[];
}

/** The config file's shape: every key optional; `ca` is a path to a PEM file. */
interface FileSettings {
  host?: string;
  port?: number;
  token?: string;
  tls?: boolean;
  ca?: string;
  fingerprint?: string;
  digest?: string;
}

function configHome(env: NodeJS.ProcessEnv): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(homedir(), ".config"), "ferry");
}

function readFileSettings(file: string, explicit: boolean, warnings: string[]): FileSettings {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (!explicit && (error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new UsageError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  const allowed = new Set(["host", "port", "token", "tls", "ca", "fingerprint", "digest"]);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new UsageError(`config file ${file} must hold a JSON object`);
  const unknown = Object.keys(parsed).filter((key) => !allowed.has(key));
  if (unknown.length > 0) throw new UsageError(`config file ${file}: unknown key${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}`);
  const settings = parsed as FileSettings;
  if (settings.token !== undefined && (statSync(file).mode & 0o077) !== 0) {
    warnings.push(`${file} holds a token and other users may read it (chmod 600 ${file})`);
  }
  return settings;
}

/**
 * defaults ← config file (--config, FERRY_CONFIG, or ~/.config/ferry/config.json) ← FERRY_* env ←
 * flags. The only place the client reads process.env. The token is never printed.
 */
export function loadSettings(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Settings {
  const warnings: string[] = [];
  const explicitFile = flags.config ?? env.FERRY_CONFIG;
  const file = readFileSettings(explicitFile ?? path.join(configHome(env), "config.json"), explicitFile !== undefined, warnings);
  const input: Record<string, unknown> = { agent: "ferry-cli/0.1.0" };
  const host = flags.host ?? env.FERRY_HOST ?? file.host;
  const port = flags.port ?? env.FERRY_PORT ?? (file.port === undefined ? undefined : String(file.port));
  if (host) input.host = host;
  if (port) {
    if (!/^\d+$/.test(port)) throw new UsageError(`port must be a number, got ${JSON.stringify(port)}`);
    input.port = Number(port);
  }
  const token = flags.token ?? (env.FERRY_TOKEN || undefined) ?? file.token;
  if (token !== undefined) input.token = token;
  const caFile = flags.ca ?? (env.FERRY_CA || undefined) ?? file.ca;
  const fingerprint = flags.fingerprint ?? (env.FERRY_FINGERPRINT || undefined) ?? file.fingerprint;
  const tlsOn = Boolean(flags.tls) || /^(1|true|yes|on)$/i.test(env.FERRY_TLS ?? "") || Boolean(file.tls) || caFile !== undefined || fingerprint !== undefined;
  if (tlsOn) {
    const tls: Record<string, string> = {};
    if (caFile !== undefined) {
      try {
        tls.ca = readFileSync(caFile, "utf8");
      } catch (error) {
        throw new UsageError(`cannot read CA file ${caFile}: ${(error as Error).message}`);
      }
    }
    if (fingerprint !== undefined) tls.fingerprint = fingerprint;
    input.tls = tls;
  }
  const bwlimit = flags.bwlimit ?? (env.FERRY_BWLIMIT || undefined);
  if (bwlimit !== undefined) input.bandwidthLimit = parseRate(bwlimit);
  const digest = flags.digest ?? (env.FERRY_DIGEST || undefined) ?? file.digest;
  if (digest !== undefined) {
    if (!(DIGEST_ALGORITHMS as readonly string[]).includes(digest)) {
      throw new UsageError(`--digest must be ${DIGEST_ALGORITHMS.join(" or ")}, got ${JSON.stringify(digest)}`);
    }
    input.digest = digest;
  }
  const checked = checkClientConfig(input);
  // The schema's messages name the field, never its value, so a bad token is not echoed.
  if (!checked.ok) throw new UsageError(`invalid settings:\n${checked.message}`);
  const config = checked.config;
  if (config.token !== undefined && !config.tls && !isLoopbackHost(config.host)) {
    warnings.push(`the token goes to ${config.host} without TLS, readable by anyone on the path (use --tls)`);
  }
  return {
    config,
    knownHostsFile: env.FERRY_KNOWN_HOSTS || path.join(configHome(env), "known_hosts"),
    acceptNew: Boolean(flags.acceptNew),
    warnings,
  };
}

/**
 * --bwlimit RATE: bytes per second, with an optional K, M or G suffix in powers of 1024, as rsync
 * takes it ("10M" = 10 MiB/s; "1.5M" too). UsageError for anything else or for less than 1 byte/s.
 */
export function parseRate(text: string): number {
  return parseBytes("--bwlimit", text, "a rate in bytes per second", "10M = 10 MiB/s");
}

/** A byte count with an optional K, M, G or T suffix in powers of 1024 (--max-size 2G); UsageError naming `flag` otherwise. */
export function parseBytes(flag: string, text: string, what = "a size in bytes", example = "2G = 2 GiB"): number {
  const match = /^(\d+(?:\.\d+)?)([KMGT]i?B?)?$/i.exec(text.trim());
  if (!match) throw new UsageError(`${flag} ${JSON.stringify(text)}: ${what}, with an optional K, M or G suffix (${example})`);
  const unit = (match[2] ?? "").charAt(0).toUpperCase();
  const bytes = Math.floor(Number(match[1]) * 1024 ** Math.max(0, " KMGT".indexOf(unit || " ")));
  if (bytes < 1 || !Number.isSafeInteger(bytes)) throw new UsageError(`${flag} ${JSON.stringify(text)}: at least 1 byte${what.includes("per second") ? " per second" : ""}`);
  return bytes;
}

/** Colour only when stderr is a terminal and NO_COLOR is unset (https://no-color.org). */
export function useColor(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(process.stderr.isTTY) && !("NO_COLOR" in env && env.NO_COLOR !== "");
}
