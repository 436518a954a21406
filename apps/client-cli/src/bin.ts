#!/usr/bin/env node
import { Command, Option } from "commander";
import { CONFLICT_POLICIES, type ConflictPolicy } from "@ferry/protocol";
import { getCommand } from "./commands/get.js";
import { lsCommand, rmCommand } from "./commands/ls.js";
import { sendCommand } from "./commands/send.js";
import { shellCommand } from "./commands/shell.js";
import { EXIT, EXIT_HELP, exitCodeFor } from "./exit-codes.js";
import { createProgress } from "./progress.js";
import { Reporter } from "./report.js";
import { loadSettings, type GlobalFlags } from "./settings.js";
import { connectTrusted, terminalQuestion } from "./connect.js";
import { KnownHosts } from "./known-hosts.js";
import { describeError } from "./exit-codes.js";

// Ctrl+C aborts uploads in progress (the server drops their partial files), then exits 130.
const controller = new AbortController();
process.once("SIGINT", () => {
  controller.abort();
  process.once("SIGINT", () => process.exit(EXIT.INTERRUPTED));
});

const program = new Command()
  .name("ferry")
  .description("Move files to and from a Ferry server: streamed, verified end to end with SHA-256.")
  .version("0.1.0")
  .option("-H, --host <address>", "server address (env FERRY_HOST; default 127.0.0.1)")
  .option("-p, --port <port>", "server port (env FERRY_PORT; default 8080)")
  .option("--token <token>", "token for servers with users (better: env FERRY_TOKEN, or the config file; flags show in ps)")
  .option("--tls", "connect with TLS (env FERRY_TLS=1)")
  .option("--ca <file>", "trust servers whose certificate chains to this PEM CA file (implies --tls; env FERRY_CA)")
  .option("--fingerprint <SHA256:...>", "trust exactly the server certificate with this fingerprint (implies --tls; env FERRY_FINGERPRINT)")
  .option("--accept-new", "remember an unknown server certificate without asking (first contact only; a changed one is still refused)")
  .option("--config <file>", "JSON settings: host, port, token, tls, ca, fingerprint (env FERRY_CONFIG; default ~/.config/ferry/config.json)")
  .option("--json", "print one JSON object per file on stdout")
  .option("-q, --quiet", "no progress bar")
  .addHelpText("after", `\nWith no command, ferry runs the interactive prompt (same as 'ferry shell').\n${EXIT_HELP}`)
  .showHelpAfterError();

async function context(command: Command) {
  const flags = command.optsWithGlobals<GlobalFlags & { raw?: boolean; onConflict?: ConflictPolicy; output?: string; resume?: boolean }>();
  const settings = loadSettings(flags);
  for (const warning of settings.warnings) process.stderr.write(`ferry: warning: ${warning}\n`);
  const knownHosts = new KnownHosts(settings.knownHostsFile);
  const ask = process.stdin.isTTY && process.stderr.isTTY ? terminalQuestion(process.stdin, process.stderr) : null;
  let config = settings.config;
  // Reconnections (the prompt's) reuse what the first connection decided to trust.
  const connect = async (signal: AbortSignal) => {
    const opened = await connectTrusted(config, { knownHosts, acceptNew: settings.acceptNew, ask, warn: (line) => process.stderr.write(`ferry: ${line}\n`) }, signal);
    config = opened.config;
    return opened.client;
  };
  return {
    flags,
    config,
    connect,
    reporter: new Reporter(Boolean(flags.json)),
    progress: await createProgress(!flags.quiet && !flags.json),
    signal: controller.signal,
  };
}

async function runShell(command: Command): Promise<void> {
  const ctx = await context(command);
  process.exitCode = await shellCommand({
    ...ctx,
    input: process.stdin,
    promptTo: process.stdin.isTTY ? process.stdout : null,
  });
}

program
  .command("send")
  .description("send files and folders; each file is stored under its own name (folders keep their paths)")
  .argument("<path...>", "files or folders to send (symlinks inside folders are skipped, never followed)")
  .option("--raw", "send bare bytes and close, one connection per file (the lab's format; no verification)")
  .addOption(
    new Option("--on-conflict <policy>", "when the name is taken on the server (default: rename → name (1).ext)").choices(CONFLICT_POLICIES),
  )
  .option("--no-resume", "start interrupted uploads over instead of continuing them (files of 16 MiB and more resume by default)")
  .action(async (files: string[], _opts: unknown, command: Command) => {
    const ctx = await context(command);
    process.exitCode = await sendCommand(files, {
      ...ctx,
      raw: Boolean(ctx.flags.raw),
      onConflict: ctx.flags.onConflict,
      resume: ctx.flags.resume !== false,
    });
  });

program
  .command("get")
  .description("download files or folders; each file is verified (size and SHA-256) before it gets its name")
  .argument("<name...>", "stored files or folders to download")
  .option("-o, --output <dir>", "directory to write into, created if missing", ".")
  .addOption(new Option("--on-conflict <policy>", "when the local name is taken").choices(CONFLICT_POLICIES).default("fail"))
  .option("--no-resume", "start interrupted downloads over instead of continuing them")
  .action(async (names: string[], _opts: unknown, command: Command) => {
    const ctx = await context(command);
    process.exitCode = await getCommand(names, {
      ...ctx,
      dir: ctx.flags.output ?? ".",
      onConflict: ctx.flags.onConflict ?? "fail",
      resume: ctx.flags.resume !== false,
    });
  });

program
  .command("ls")
  .description("list stored files: size, modification time, SHA-256 recorded at upload, name")
  .argument("[path]", "a folder on the server (default: everything)")
  .action(async (folder: string | undefined, _opts: unknown, command: Command) => {
    process.exitCode = await lsCommand(folder, await context(command));
  });

program
  .command("rm")
  .description("delete stored files")
  .argument("<name...>", "stored names to delete")
  .action(async (names: string[], _opts: unknown, command: Command) => {
    process.exitCode = await rmCommand(names, await context(command));
  });

program
  .command("shell")
  .description("prompt for file names and send each over one connection; also put/get/ls/rm/help ('quit' or Ctrl+D ends)")
  .action(async (_opts: unknown, command: Command) => runShell(command));

program.action(async (_opts: unknown, command: Command) => runShell(command));

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`ferry: ${describeError(error)}\n`);
  process.exitCode = exitCodeFor(error);
});
