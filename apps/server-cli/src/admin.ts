import { readFile } from "node:fs/promises";
import { isLoopbackHost, type ServerConfig } from "@ferry/protocol";
import type { FerryServer } from "@ferry/server-core";
import type { AdminServer, AdminTarget, MetricsSource } from "@ferry/server-admin";
import { ConfigError } from "./config.js";

/**
 * The admin port of `--admin host:port`. On loopback: plain HTTP, no token. Beyond it: the data
 * port's certificate and a configured user's token (`Authorization: Bearer …`), or it refuses to
 * start (exit 2): metrics are not for everyone on the network.
 */
/** The admin address, split; ConfigError (exit 2) if it is beyond loopback without TLS and users. */
export function adminAddress(config: ServerConfig): { host: string; port: number } {
  const at = config.admin!.lastIndexOf(":");
  const host = config.admin!.slice(0, at).replace(/^\[|\]$/g, "");
  if (!isLoopbackHost(host) && (!config.tls || config.users.length === 0)) {
    throw new ConfigError(
      `the admin port on ${host} is reachable beyond this machine: it needs TLS (--tls auto, or --tls-cert/--tls-key) and users (tokens), as the data port does; or bind it to 127.0.0.1`,
    );
  }
  return { host, port: Number(config.admin!.slice(at + 1)) };
}

export async function startAdminPort(server: AdminTarget & Pick<FerryServer, "authorizes">, metrics: MetricsSource, config: ServerConfig): Promise<AdminServer & { url: string }> {
  const { host, port } = adminAddress(config);
  const beyond = !isLoopbackHost(host);
  const tls = beyond && config.tls ? { cert: await readFile(config.tls.cert), key: await readFile(config.tls.key) } : undefined;
  const authorize = beyond && config.users.length > 0 ? (token: string | undefined, ip: string) => server.authorizes(token, ip) : undefined;
  const { startAdmin } = await import("@ferry/server-admin");
  const admin = await startAdmin(server, metrics, { host, port, ...(tls ? { tls } : {}), ...(authorize ? { authorize } : {}) });
  const shown = admin.host.includes(":") ? `[${admin.host}]` : admin.host;
  return { ...admin, url: `${tls ? "https" : "http"}://${shown}:${admin.port}` };
}
