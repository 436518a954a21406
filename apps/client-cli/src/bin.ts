#!/usr/bin/env node
import { Command } from "commander";
import { sendCommand } from "./commands/send.js";
import { shellCommand } from "./commands/shell.js";
import { EXIT, EXIT_HELP, exitCodeFor } from "./exit-codes.js";
import { createProgress } from "./progress.js";
import { Reporter } from "./report.js";
import { loadClientConfig, type GlobalFlags } from "./settings.js";
import { describeError } from "./exit-codes.js";

// Ctrl+C aborts uploads in progress (the server drops their partial files), then exits 130.
const controller = new AbortController();
process.once("SIGINT", () => {
  controller.abort();
  process.once("SIGINT", () => process.exit(EXIT.INTERRUPTED));
});

const program = new Command()
  .name("ferry")
  .description("Send files to a Ferry server: streamed, verified end to end with SHA-256.")
  .version("0.1.0")
  .option("-H, --host <address>", "server address (env FERRY_HOST; default 127.0.0.1)")
  .option("-p, --port <port>", "server port (env FERRY_PORT; default 8080)")
  .option("--json", "print one JSON object per file on stdout")
  .option("-q, --quiet", "no progress bar")
  .addHelpText("after", `\nWith no command, ferry runs the interactive prompt (same as 'ferry shell').\n${EXIT_HELP}`)
  .showHelpAfterError();

async function context(command: Command) {
  const flags = command.optsWithGlobals<GlobalFlags & { raw?: boolean }>();
  return {
    flags,
    config: loadClientConfig(flags),
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
  .description("send one or more files; each is stored under its own name on the server")
  .argument("<file...>", "files to send")
  .option("--raw", "send bare bytes and close, one connection per file (the lab's format; no verification)")
  .action(async (files: string[], _opts: unknown, command: Command) => {
    const ctx = await context(command);
    process.exitCode = await sendCommand(files, { ...ctx, raw: Boolean(ctx.flags.raw) });
  });

program
  .command("shell")
  .description("prompt for file names and send each over one connection ('quit' or Ctrl+D ends)")
  .action(async (_opts: unknown, command: Command) => runShell(command));

program.action(async (_opts: unknown, command: Command) => runShell(command));

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`ferry: ${describeError(error)}\n`);
  process.exitCode = exitCodeFor(error);
});
