import { CommanderError, type Command } from "commander";

/**
 * Makes `program` and every subcommand throw CommanderError on a usage error instead of printing
 * the error (and, with showHelpAfterError, the whole help) and exiting 1. Call after every command
 * is defined; settle the thrown error with usageOutcome().
 */
export function throwOnUsageErrors(program: Command): void {
  const visit = (command: Command): void => {
    command.exitOverride().configureOutput({ outputError: () => undefined });
    for (const sub of command.commands) visit(sub);
  };
  visit(program);
}

/**
 * What a CommanderError from throwOnUsageErrors means: help or the version was shown (exit 0), or a
 * usage error, which becomes two lines — the error and where to read more — and exit 2 (`usage`).
 * Anything else: undefined, for the CLI's own error handling.
 */
export function usageOutcome(error: unknown, program: Command, argv: readonly string[], usage: number): { exitCode: number; lines: string[] } | undefined {
  if (!(error instanceof CommanderError)) return undefined;
  if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help") {
    return { exitCode: 0, lines: [] };
  }
  const name = program.name();
  // The subcommand named on the line, if any, is the help to point at.
  const sub = program.commands.find((command) => argv.includes(command.name()));
  const help = sub ? `${name} ${sub.name()} --help` : `${name} --help`;
  return { exitCode: usage, lines: [`${name}: ${error.message.replace(/^error: /, "")}`, `see '${help}'`] };
}
