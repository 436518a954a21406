#!/usr/bin/env node
import { Command, Option } from "commander";
import { FerryServer, ServerError } from "@ferry/server-core";
import { ConfigError, loadServerConfig, type ServerFlags } from "./config.js";
import { ensureSelfSignedCertificate } from "./self-signed.js";
import { tokenCommand } from "./token-command.js";
import { attachEventLog } from "./event-log.js";
import { createServerLog, type LogFormat, type ServerLog } from "./logger.js";

/** Made once --log is known; until then (usage errors) stderr is written directly. */
let log: ServerLog | undefined;
import { EXIT, exitCodeFor } from "./exit-codes.js";
import { openCluster, openClusterShares } from "./cluster.js";
import { startShareListener } from "./share-listener.js";
import { adminAddress, startAdminPort } from "./admin.js";
import { throwOnUsageErrors, usageOutcome } from "@ferry/cli-text";
import cluster from "node:cluster";
import { warnAtStart } from "./start-warnings.js";
import { runPrimary, runWorker, workerCount } from "./workers.js";

const program = new Command()
  .name("ferry-server")
  .description("Serve a storage directory to Ferry clients (upload, download, list, delete) and to raw TCP senders.")
  .version("0.1.0")
  .option("--host <address>", "address to bind (env FERRY_HOST; default 127.0.0.1)")
  .option("-p, --port <port>", "TCP port, 0 picks a free one (env FERRY_PORT; default 8080)")
  .option("-d, --dir <path>", "storage directory, created if missing (env FERRY_DIR; default ./ferry-data)")
  .option("-n, --max-clients <n>", "clients served at once; one more takes an idle slot or gets BUSY (env FERRY_MAX_CLIENTS; default 4096)")
  .option("--max-clients-per-ip <n>", "clients served at once from one IP address (env FERRY_MAX_CLIENTS_PER_IP; default 32)")
  .option("-c, --config <file>", "JSON config file validated against the server schema")
  .option("--raw", "accept raw uploads (the lab's bare byte stream) even with users or TLS configured")
  .option("--no-raw", "refuse connections that do not speak Ferry (default: raw is on only for an open plain-TCP server)")
  .option("--allow-anonymous", "serve a non-loopback address with no users configured (env FERRY_ALLOW_ANONYMOUS)")
  .option("--tls-cert <file>", "PEM certificate chain: serve TLS only")
  .option("--tls-key <file>", "PEM private key for --tls-cert")
  .addOption(new Option("--tls <mode>", "auto: a self-signed certificate made on first start and kept in the state dir").choices(["auto"]))
  .option("--state-dir <path>", "where --tls auto keeps its certificate (env FERRY_STATE_DIR; default $XDG_STATE_HOME/ferry-server)")
  .option("--no-fsync", "do not fsync before publishing (faster, loses acknowledged files on power loss)")
  .option("--s3-endpoint <url>", "cluster storage: the S3 API holding file bytes (env FERRY_S3_ENDPOINT; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the config file)")
  .option("--s3-bucket <name>", "cluster storage: the bucket, used as it is or created if missing (env FERRY_S3_BUCKET)")
  .option("--db <url>", "cluster storage: postgres://… catalog of names, quotas and sessions, schema created at start (env FERRY_DB)")
  .option("--http <[host:]port>", "serve share links (ferry share) over HTTP here, HTTPS with TLS (env FERRY_HTTP; a port alone binds 127.0.0.1)")
  .option("--public-url <url>", "the URL share links are printed with, when visitors come through a proxy or a name (env FERRY_PUBLIC_URL)")
  .option("--admin <[host:]port>", "serve /metrics, /healthz and /readyz over HTTP here (env FERRY_ADMIN; a port alone binds 127.0.0.1; beyond loopback needs TLS and users)")
  .option("--workers <n>", "processes serving connections, sharing every limit and lock (env FERRY_WORKERS; default: the number of cores; 1: one process)")
  .option("--grace <ms>", "on Ctrl+C/SIGTERM, how long uploads in progress may finish", "10000")
  .addOption(new Option("--log <format>", "log line format").choices(["text", "json"]).default("text"))
  .addHelpText(
    "after",
    `
Exit codes:
  0  stopped cleanly (Ctrl+C or SIGTERM)
  2  bad flags or configuration
  3  storage unusable (directory; or object store or database unreachable or refusing the credentials)
  4  cannot listen on host:port
  1  any other failure

Precedence: defaults < --config file < FERRY_* environment < flags.
Users (name, tokenSha256, permissions, dir, quotaBytes) live in the --config file;
\`ferry-server token NAME\` makes a token and prints the entry to add. See docs/security.md.`,
  )
  .action(async (flags: ServerFlags & { grace: string; log: LogFormat }) => {
    log = createServerLog(flags.log);
    const { logger } = log;
    if (cluster.isWorker) return runWorker(log);
    const { config, autoTlsDir } = await loadServerConfig(flags);
    if (autoTlsDir) {
      const made = await ensureSelfSignedCertificate(autoTlsDir).catch((cause: unknown) => {
        throw new ConfigError(`--tls auto: cannot make or read the certificate in ${autoTlsDir}: ${(cause as Error).message}`);
      });
      if (made.created) logger.info({ stateDir: autoTlsDir }, `made a self-signed TLS certificate in ${autoTlsDir}`);
    }
    const workers = workerCount(config);
    if (workers > 1) return runPrimary(flags, config, workers, log, Number(flags.grace) || 10_000);
    const server = new FerryServer(config, config.s3 && config.db ? { storage: openCluster, shares: openClusterShares } : {});
    attachEventLog(server, log);
    // Counting from the first connection: the metrics listen before the server starts.
    if (config.admin) adminAddress(config); // a refused admin address stops the start, before anything listens
    // prom-client is loaded only for --admin (1.6 MiB less resident without it, idle).
    const metrics = config.admin ? new (await import("@ferry/server-admin")).ServerMetrics(server) : undefined;
    const info = await server.start();
    const admin = metrics ? await startAdminPort(server, metrics, config) : undefined;
    if (admin) logger.info({ event: "admin-listening", host: admin.host, port: admin.port }, `admin on ${admin.url} (/metrics, /healthz, /readyz)`);
    const web = config.http ? await startShareListener(server, config) : undefined;
    if (web) logger.info({ event: "http-listening", url: web.url }, `share links on ${web.url} (ferry share)`);
    warnAtStart(logger, info, config);
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, `${signal} again: exiting now`);
        log?.flush();
        process.exit(EXIT.FAILURE);
      }
      stopping = true;
      const again = signal === "SIGINT" ? "Ctrl+C again" : "SIGTERM again";
      logger.info({ signal }, `${signal}: stopping — finishing uploads in progress (${again} to stop at once)`);
      void admin?.close();
      void web?.close();
      void server.stop({ graceMs: Number(flags.grace) || 10_000 }).then(() => {
        logger.info({ signal }, "stopped");
        log?.flush();
        process.exit(EXIT.OK);
      });
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    // SIGHUP: read the config file (and env, flags) again; an invalid one changes nothing.
    process.on("SIGHUP", () => {
      void loadServerConfig(flags)
        .then(async ({ config: next }) => {
          await server.reload(next);
          await web?.reloadCertificate();
        })
        .catch((error: unknown) => {
          logger.error({ event: "reload-refused", code: (error as { code?: string }).code ?? "INTERNAL" }, `SIGHUP: reload refused, the running configuration stays: ${(error as Error).message}`);
        });
    });
  });

program.addCommand(tokenCommand());
program.helpCommand(true);
throwOnUsageErrors(program);

program.parseAsync().catch((error: unknown) => {
  const usage = usageOutcome(error, program, process.argv.slice(2), EXIT.USAGE);
  if (usage) {
    for (const line of usage.lines) process.stderr.write(`${line}\n`);
    process.exit(usage.exitCode);
  }
  const code = exitCodeFor(error);
  const known = error instanceof ConfigError || error instanceof ServerError;
  const message = known ? error.message : `unexpected error: ${(error as Error).stack ?? String(error)}`;
  // With --log json this is a JSON line too ("fatal", its code and the exit code); in text, one line on stderr.
  if (log) log.logger.fatal({ code: (error as { code?: string }).code ?? "INTERNAL", exitCode: code }, message);
  else process.stderr.write(`ferry-server: ${message}\n`);
  log?.flush();
  process.exit(code);
});
