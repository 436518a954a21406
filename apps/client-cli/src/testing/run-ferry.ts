// The built `ferry` binary run as a user runs it, for the CLI's tests.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CliEventSchema, type CliEvent } from "../events.js";

export const FERRY_BIN = fileURLToPath(new URL("../../dist/ferry.mjs", import.meta.url));

export interface FerryRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ferry ARGS` to its exit with NO_COLOR and `env` over this process's environment, `stdin` (default: none) as its input. */
export function runFerry(args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: string | Buffer } = {}): Promise<FerryRun> {
  const child = spawn(process.execPath, [FERRY_BIN, ...args], { env: { ...process.env, NO_COLOR: "1", ...options.env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(options.stdin ?? "");
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

/** --json output, every line validated against the documented schema (docs/cli-events.md). */
export function cliEvents(stdout: string): CliEvent[] {
  return stdout.trim().split("\n").filter(Boolean).map((line) => CliEventSchema.parse(JSON.parse(line)));
}
