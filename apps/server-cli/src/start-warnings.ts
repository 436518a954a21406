import type { Logger } from "pino";
import { isLoopbackHost, type ServerConfig } from "@ferry/protocol";
import type { ListeningEvent } from "@ferry/server-core";

/** What an operator must hear when the server starts: open to all, raw beyond loopback, tokens in clear. */
export function warnAtStart(logger: Logger, info: ListeningEvent, config: ServerConfig): void {
  if (info.open) {
    logger.warn(
      { warning: "open" },
      `WARNING: no users are configured, so this server is OPEN: anyone who can reach ${info.host}:${info.port} ` +
        `can read, write and delete files in ${info.dir}.${isLoopbackHost(info.host) ? " (Only this machine can reach it.)" : ""} ` +
        "Add users to the config file (ferry-server token NAME) to require tokens.",
    );
  }
  if (info.raw && !isLoopbackHost(info.host)) {
    logger.warn({ warning: "raw-beyond-loopback" }, "warning: raw uploads are on and the server is reachable beyond this machine; anyone who can connect can store files");
  }
  if (!config.tls && config.users.length > 0 && !isLoopbackHost(info.host)) {
    logger.warn({ warning: "tokens-in-clear" }, "warning: tokens travel in clear text without TLS; use --tls auto or --tls-cert/--tls-key");
  }
}
