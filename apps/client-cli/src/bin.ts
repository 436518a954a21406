#!/usr/bin/env node
import { setMaxListeners } from "node:events";
import { Command, Option } from "commander";
import { CONFLICT_POLICIES, type ConflictPolicy } from "@ferry/protocol";
import { getCommand } from "./commands/get.js";
import { lsCommand, rmCommand } from "./commands/ls.js";
import { sendCommand } from "./commands/send.js";
import { shellCommand } from "./commands/shell.js";
import { shareCommand, type ShareFlags } from "./commands/share.js";
import { readSharePassword } from "./secret-prompt.js";
import { EXIT, EXIT_HELP, exitCodeFor } from "./exit-codes.js";
import { collectExclude, collectExcludeFrom, collectInclude, filterRules, PathFilter } from "./filters.js";
import { parseFerryUrl, urlArguments } from "./remote-url.js";
import { createProgress } from "./progress.js";
import { Reporter } from "./report.js";
import { TerminalLines } from "./terminal-lines.js";
import { loadSettings, UsageError, type GlobalFlags } from "./settings.js";
import { connectTrusted, terminalQuestion } from "./connect.js";
import { KnownHosts } from "./known-hosts.js";
import { describeError, errorCode, interruptedExit, type Interrupt } from "./exit-codes.js";
import { throwOnUsageErrors, usageOutcome } from "@ferry/cli-text";

// Ctrl+C (or SIGTERM) aborts the transfers in progress; interrupted resumable uploads keep their
// partial on the server. The command then exits 130 (143 for SIGTERM) with one line saying so.
// A second signal exits at once.
// The prompt takes Ctrl+C over while it runs a command (it cancels that command only).
const controller = new AbortController();
// Every transfer in flight listens to it (a folder pipelines up to 64): not a leak, so no warning.
setMaxListeners(0, controller.signal);
// Every line ferry prints goes through here, so stdout's lines (gathered per turn) and stderr's keep their order.
const terminal = new TerminalLines(process.stdout, process.stderr);
process.on("exit", () => terminal.flush());
const interruptedBy: { signal?: Interrupt } = {};
const interrupt = (signal: Interrupt): void => {
  if (interruptedBy.signal) process.exit(interruptedExit(signal));
  interruptedBy.signal = signal;
  // At once, so the wait for answers already due is not mistaken for a hang; again to quit at once.
  terminal.err(`ferry: ${signal}: stopping; files the server is already storing are still reported (${signal === "SIGINT" ? "Ctrl+C" : "SIGTERM"} again to quit now)`);
  controller.abort();
};
const interrupts: { handler: (signal: Interrupt) => void } = { handler: interrupt };
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => interrupts.handler(signal));

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
  .option("--config <file>", "JSON settings: host, port, token, tls, ca, fingerprint, digest (env FERRY_CONFIG; default ~/.config/ferry/config.json)")
  .option("--json", "print the NDJSON event stream of docs/cli-events.md on stdout (start, progress, file, entry, error, summary)")
  .option("-q, --quiet", "no progress bar")
  .option("--digest <algorithm>", "how transfers are checked: sha256 (default; what files are recorded with, comparable with sha256sum) or blake3 (faster; the file is then recorded with its BLAKE3; env FERRY_DIGEST)")
  .option("--bwlimit <rate>", "at most RATE bytes per second each way on the connection; K, M, G suffixes in powers of 1024 (10M = 10 MiB/s; env FERRY_BWLIMIT)")
  .addHelpText("after", `\nWith no command, ferry runs the interactive prompt (same as 'ferry shell').\n${EXIT_HELP}`)
  .helpCommand(true);

type Context = Awaited<ReturnType<typeof context>>;

async function context(command: Command) {
  const flags = command.optsWithGlobals<GlobalFlags & { raw?: boolean; onConflict?: ConflictPolicy; output?: string; resume?: boolean; recursive?: boolean; to?: string; as?: string; delete?: boolean; dryRun?: boolean }>();
  const settings = loadSettings(flags);
  for (const warning of settings.warnings) terminal.err(`ferry: warning: ${warning}`);
  const knownHosts = new KnownHosts(settings.knownHostsFile);
  const question = process.stdin.isTTY && process.stderr.isTTY ? terminalQuestion(process.stdin, process.stderr) : null;
  // A trust question shows after the lines printed before it.
  const ask =
    question &&
    ((text: string) => {
      terminal.flush();
      return question(text);
    });
  let config = settings.config;
  // Reconnections (the prompt's) reuse what the first connection decided to trust.
  const connect = async (signal: AbortSignal) => {
    const opened = await connectTrusted(config, { knownHosts, acceptNew: settings.acceptNew, ask, warn: (line) => terminal.err(`ferry: ${line}`) }, signal);
    config = opened.config;
    return opened.client;
  };
  const reporter = new Reporter(Boolean(flags.json), terminal);
  const progress = await createProgress(flags.json ? "json" : flags.quiet ? "none" : "bar", (event) => reporter.event(event));
  reporter.useDisplay(progress);
  return {
    flags,
    config,
    connect,
    reporter,
    progress,
    signal: controller.signal,
  };
}

/**
 * Runs one command between its `start` and `summary` events. A failure of the whole command (the
 * connection, trust) is reported as an `error` event and a line on stderr; the exit code is the
 * command's, or the signal's after Ctrl+C/SIGTERM.
 */
async function run(command: Command, name: "send" | "get" | "ls" | "rm" | "share" | "shell", body: (ctx: Context) => Promise<number>): Promise<void> {
  const ctx = await context(command);
  ctx.reporter.start(name, { host: ctx.config.host, port: ctx.config.port });
  let code: number;
  try {
    code = await body(ctx);
  } catch (error) {
    code = exitCodeFor(error);
    if (!interruptedBy.signal) ctx.reporter.error(error);
  }
  if (interruptedBy.signal) code = interruptedExit(interruptedBy.signal);
  ctx.reporter.summary(code);
  process.exitCode = code;
}

/** The rsync-like options send and get share (issue 15): --delete, -n, filters. */
function syncOptions(command: Command, destination: string): Command {
  return command
    .option("--delete", `make the folder on ${destination} equal to the source: delete what the source does not have (never excluded paths, never outside the folder); changed files are overwritten`)
    .option("-n, --dry-run", "print (and, with --json, emit) what would be done; change nothing on either side")
    .option("--exclude <pattern>", "leave out paths matching this gitignore-style pattern (*.tmp, dir/, **/build); repeatable; first matching rule decides", collectExclude)
    .option("--include <pattern>", "keep paths matching this pattern even if a later --exclude matches; repeatable", collectInclude)
    .option("--exclude-from <file>", "exclude patterns, one per line (# comments)", collectExcludeFrom);
}

function syncFlags(flags: { delete?: boolean; dryRun?: boolean }): { mirror: boolean; dryRun: boolean; filter: PathFilter } {
  return { mirror: Boolean(flags.delete), dryRun: Boolean(flags.dryRun), filter: new PathFilter(filterRules) };
}

/** A ferry:// URL's server becomes --host/--port (flags given as well must agree with it). */
function useUrlServer(command: Command, server: { host: string; port?: number } | undefined): void {
  if (!server) return;
  const root = command.parent ?? command;
  root.setOptionValue("host", server.host);
  if (server.port !== undefined) root.setOptionValue("port", String(server.port));
}

/**
 * send's destination as a ferry:// URL, given last: `…/dir/` is --to, `…/name` is --as (one file).
 * Returns the local paths.
 */
function sendDestination(command: Command, args: string[]): string[] {
  const url = args.length > 1 ? parseFerryUrl(args.at(-1)!) : null;
  if (!url) {
    if (args.some((arg) => parseFerryUrl(arg))) throw new UsageError("send takes local paths, then at most one ferry:// URL, last: where they go");
    return args;
  }
  useUrlServer(command, url);
  if (url.path === "" || url.path.endsWith("/")) {
    if (url.path !== "") command.setOptionValue("to", url.path);
  } else command.setOptionValue("as", url.path);
  return args.slice(0, -1);
}

function runShell(command: Command): Promise<void> {
  return run(command, "shell", (ctx) => shellCommand({
    ...ctx,
    input: process.stdin,
    promptTo: process.stdin.isTTY ? process.stdout : null,
    // While a command runs, Ctrl+C cancels it; at the prompt it ends ferry (130), as SIGTERM always does.
    onInterrupt: (cancelCommand) => {
      interrupts.handler = (signal) => (signal === "SIGINT" && cancelCommand() ? undefined : interrupt(signal));
    },
    interrupt: () => interrupt("SIGINT"),
  }));
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
  .option("--to <folder/>", "store under this folder on the server (made if missing): a/b/ puts report.pdf at a/b/report.pdf")
  .option("--as <name>", "store the one file (or standard input, `-`) under this name on the server");
syncOptions(program.commands.at(-1)!, "the server")
  .action((given: string[], _opts: unknown, command: Command) => {
    const files = sendDestination(command, given);
    return run(command, "send", (ctx) =>
      sendCommand(files, {
        ...ctx,
        raw: Boolean(ctx.flags.raw),
        onConflict: ctx.flags.onConflict,
        resume: ctx.flags.resume !== false,
        ...(ctx.flags.to !== undefined ? { to: ctx.flags.to } : {}),
        ...(ctx.flags.as !== undefined ? { as: ctx.flags.as } : {}),
        stdin: process.stdin,
        ...syncFlags(ctx.flags),
      }),
    );
  });

program
  .command("get")
  .description("download files or folders; each file is verified (size and SHA-256) before it gets its name")
  .argument("<name...>", "stored files or folders to download")
  .option("-o, --output <dir>", "directory to write into, created if missing", ".")
  .addOption(new Option("--on-conflict <policy>", "when the local name is taken").choices(CONFLICT_POLICIES).default("fail"))
  .option("--no-resume", "start interrupted downloads over instead of continuing them");
syncOptions(program.commands.at(-1)!, "this side")
  .action((given: string[], _opts: unknown, command: Command) => {
    const { args: names, server } = urlArguments(given);
    useUrlServer(command, server);
    return run(command, "get", (ctx) =>
      getCommand(names, { ...ctx, dir: ctx.flags.output ?? ".", onConflict: ctx.flags.onConflict ?? "fail", resume: ctx.flags.resume !== false, ...syncFlags(ctx.flags) }),
    );
  });

program
  .command("ls")
  .description("list stored files: size, modification time, SHA-256 recorded at upload, name")
  .argument("[path]", "a folder on the server (default: everything)")
  .action((given: string | undefined, _opts: unknown, command: Command) => {
    const { args, server } = urlArguments(given === undefined ? [] : [given]);
    useUrlServer(command, server);
    // ferry://host/ lists everything, as no path does.
    const folder = args[0] === "" ? undefined : args[0];
    return run(command, "ls", (ctx) => lsCommand(folder, ctx));
  });

program
  .command("rm")
  .description("delete stored files (and, with -r, folders with everything in them)")
  .argument("<name...>", "stored names to delete")
  .option("-r, --recursive", "delete folders and every file in them")
  .action((given: string[], _opts: unknown, command: Command) => {
    const { args: names, server } = urlArguments(given);
    useUrlServer(command, server);
    return run(command, "rm", (ctx) => rmCommand(names, { ...ctx, recursive: Boolean(ctx.flags.recursive) }));
  });

program
  .command("share")
  .description("make a link for a browser or curl: download PATH… (files, folders as pages and zips), or --upload FOLDER to collect files; --list, --revoke ID")
  .argument("[path...]", "stored files or folders the link gives (download links)")
  .option("--upload <folder>", "a link whose page takes files dropped into this folder of yours (resumable uploads)")
  .option("--expires <duration>", "how long the link works: 30m, 24h, 7d… (default 24h, at most 366d)")
  .option("--max-downloads <n>", "download links: stop after N downloads (a file, or a folder's zip)")
  .option("--max-size <bytes>", "upload links: at most this much in all; K, M, G suffixes (2G)")
  .option("--max-files <n>", "upload links: at most N files")
  .option("--password", "visitors must give a password (asked here without echo; or FERRY_SHARE_PASSWORD, or a line of stdin)")
  .option("--list", "my links: fingerprint, kind, state, expiry, use, paths")
  .option("--revoke <id>", "withdraw a link: its URL, the last part of it, or the fingerprint --list shows")
  .action((given: string[], flags: ShareFlags, command: Command) => {
    const { args: paths, server } = urlArguments(given);
    useUrlServer(command, server);
    return run(command, "share", (ctx) =>
      shareCommand(paths, flags, { ...ctx, readPassword: () => readSharePassword(process.env, process.stdin, process.stderr) }),
    );
  });

program
  .command("shell")
  .description("prompt for file names and send each over one connection; also put/get/ls/rm/help ('quit' or Ctrl+D ends)")
  .action(async (_opts: unknown, command: Command) => runShell(command));

program.action(async (_opts: unknown, command: Command) => runShell(command));

throwOnUsageErrors(program);

// `ferry ls | head`: once the reader is gone, stop quietly with SIGPIPE's exit code rather than
// crash on EPIPE with a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(EXIT.BROKEN_PIPE);
});

// If the event loop ever runs dry before the command has answered (a bug: nothing left to wake a
// transfer up), exit 1 with one line, never 0 as if all were done.
let settled = false;
process.once("beforeExit", () => {
  if (settled) return;
  terminal.err("ferry: internal error: the command stopped before it finished (nothing was left to wait on); please report it");
  process.exitCode = EXIT.SOME_FAILED;
});

program.parseAsync().then(
  () => {
    settled = true;
    reportInterruption();
  },
  (error: unknown) => {
    settled = true;
    const usage = usageOutcome(error, program, process.argv.slice(2), EXIT.USAGE);
    if (usage) {
      for (const line of usage.lines) terminal.err(line);
      if (usage.exitCode !== 0 && wantsJson()) {
        terminal.out(JSON.stringify({ type: "error", code: "USAGE", message: usage.lines[0]!.replace(/^ferry: /, "") }));
      }
      process.exitCode = usage.exitCode;
      return;
    }
    // Failures before a command could start (settings, a bad config file): no `start` was sent.
    if (!interruptedBy.signal) {
      terminal.err(`ferry: ${describeError(error)}`);
      if (wantsJson()) terminal.out(JSON.stringify({ type: "error", code: errorCode(error), message: (error as Error).message }));
    }
    process.exitCode = exitCodeFor(error);
    reportInterruption();
  },
);

function wantsJson(): boolean {
  return process.argv.slice(2).includes("--json");
}

/** After Ctrl+C or SIGTERM: one line, and the exit code of the signal, whatever the command returned. */
function reportInterruption(): void {
  const signal = interruptedBy.signal;
  if (!signal) return;
  terminal.err(`ferry: interrupted (${signal}); run the same command again to continue (uploads of 16 MiB and more resume where they stopped)`);
  process.exitCode = interruptedExit(signal);
}
