import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ServerConfig } from "@ferry/protocol";
import type { FerryServer } from "@ferry/server-core";
import type { PasswordFailureLedger, ShareWeb } from "@ferry/share-web";
import { ConfigError } from "./config.js";

/**
 * `--http host:port`: the share-link listener (docs/sharing.md), loaded only when asked for (fastify
 * and the zip writer stay out of a server without it: a chunk of its own in the bundle). Its page
 * assets are copied beside the bundle (scripts/bundle.mjs).
 */
export async function startShareListener(server: FerryServer, config: ServerConfig, passwordFailures?: PasswordFailureLedger): Promise<ShareWeb> {
  const at = config.http!.lastIndexOf(":");
  const host = config.http!.slice(0, at).replace(/^\[|\]$/g, "");
  const port = Number(config.http!.slice(at + 1));
  const { startShareWeb } = await import("@ferry/share-web");
  const assetsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "assets");
  try {
    return await startShareWeb(server, { host, port, assetsDir, ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}), ...(passwordFailures ? { passwordFailures } : {}) });
  } catch (error) {
    if ((error as { code?: string }).code === "INVALID_CONFIG") throw new ConfigError((error as Error).message);
    throw error;
  }
}
