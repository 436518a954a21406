#!/usr/bin/env node
import { Command, Option } from "commander";
import { FerryServer, ServerError } from "@ferry/server-core";
import { ConfigError, loadServerConfig, type ServerFlags } from "./config.js";
import { attachEventLog, type LogFormat } from "./event-log.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";

const program = new Command()
  .name("ferry-server")
  .description("Serve a storage directory to Ferry clients (upload, download, list, delete) and to raw TCP senders.")
  .version("0.1.0")
  .option("--host <address>", "address to bind (env FERRY_HOST; default 127.0.0.1)")
  .option("-p, --port <port>", "TCP port, 0 picks a free one (env FERRY_PORT; default 8080)")
  .option("-d, --dir <path>", "storage directory, created if missing (env FERRY_DIR; default ./ferry-data)")
  .option("-n, --max-clients <n>", "clients served at once; one more gets BUSY (env FERRY_MAX_CLIENTS; default 64)")
  .option("--max-clients-per-ip <n>", "clients served at once from one IP address (env FERRY_MAX_CLIENTS_PER_IP; default 32)")
  .option("-c, --config <file>", "JSON config file validated against the server schema")
  .option("--no-raw", "refuse connections that do not speak Ferry (raw uploads are on by default)")
  .option("--no-fsync", "do not fsync before publishing (faster, loses acknowledged files on power loss)")
  .option("--grace <ms>", "on Ctrl+C/SIGTERM, how long uploads in progress may finish", "10000")
  .addOption(new Option("--log <format>", "log line format").choices(["text", "json"]).default("text"))
  .addHelpText(
    "after",
    `
Exit codes:
  0  stopped cleanly (Ctrl+C or SIGTERM)
  2  bad flags or configuration
  3  storage directory unusable
  4  cannot listen on host:port
  1  any other failure

Precedence: defaults < --config file < FERRY_* environment < flags.`,
  )
  .action(async (flags: ServerFlags & { grace: string; log: LogFormat }) => {
    const config = await loadServerConfig(flags);
    const server = new FerryServer(config);
    attachEventLog(server, (line) => process.stdout.write(`${line}\n`), flags.log);
    await server.start();
    if (config.raw && !["127.0.0.1", "::1", "localhost"].includes(config.host)) {
      process.stderr.write("warning: raw uploads are on and the server is reachable beyond this machine; anyone who can connect can store files\n");
    }
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`${signal} again: exiting now\n`);
        process.exit(EXIT.FAILURE);
      }
      stopping = true;
      process.stderr.write(`${signal}: stopping — finishing uploads in progress (Ctrl+C again to force)\n`);
      void server.stop({ graceMs: Number(flags.grace) || 10_000 }).then(() => process.exit(EXIT.OK));
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });

program.parseAsync().catch((error: unknown) => {
  const code = exitCodeFor(error);
  if (error instanceof ConfigError || error instanceof ServerError) {
    process.stderr.write(`ferry-server: ${error.message}\n`);
  } else {
    process.stderr.write(`ferry-server: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
  }
  process.exit(code);
});
