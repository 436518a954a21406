import { checkClientConfig, type ClientConfig } from "@ferry/protocol";

/** Global flags shared by every command. */
export interface GlobalFlags {
  host?: string;
  port?: string;
  json?: boolean;
  quiet?: boolean;
}

export class UsageError extends Error {
  override name = "UsageError";
}

/** defaults ← FERRY_HOST / FERRY_PORT ← flags. The only place the client reads process.env. */
export function loadClientConfig(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const input: Record<string, unknown> = { agent: "ferry-cli/0.1.0" };
  const host = flags.host ?? env.FERRY_HOST;
  const port = flags.port ?? env.FERRY_PORT;
  if (host) input.host = host;
  if (port) {
    if (!/^\d+$/.test(port)) throw new UsageError(`port must be a number, got ${JSON.stringify(port)}`);
    input.port = Number(port);
  }
  const checked = checkClientConfig(input);
  if (!checked.ok) throw new UsageError(`invalid settings:\n${checked.message}`);
  return checked.config;
}

/** Colour only when stderr is a terminal and NO_COLOR is unset (https://no-color.org). */
export function useColor(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(process.stderr.isTTY) && !("NO_COLOR" in env && env.NO_COLOR !== "");
}
