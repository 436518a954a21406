import { createInterface } from "node:readline";
import { FerryClient } from "@ferry/client-core";
import { EXIT, isConnectionError } from "../exit-codes.js";
import type { ProgressReporter } from "../progress.js";
import type { Reporter } from "../report.js";
import { assertNever } from "@ferry/protocol";
import { getOne } from "./get.js";
import { checkLocalFile, uploadReported } from "./send.js";
import { parseShellLine, SHELL_HELP } from "./shell-line.js";

export const PROMPT = "Input filename you want to send: ";
export const INVALID_NAME = "You entered an invalid filename! Please enter a valid name";

export interface ShellOptions {
  connect: (signal: AbortSignal) => Promise<FerryClient>;
  signal: AbortSignal;
  reporter: Reporter;
  progress: ProgressReporter;
  input: NodeJS.ReadableStream;
  /** Where the prompt goes; null for no prompt (input is not a terminal). */
  promptTo: NodeJS.WritableStream | null;
}

/**
 * The lab's loop, done right: ask for a file name, send it over the one connection, repeat.
 * A bad name is reported and the loop goes on; `quit`, `exit` or end of input ends it. It also
 * takes put/get/ls/rm/help (see SHELL_HELP). If the server drops the connection, the next
 * command reconnects.
 */
export async function shellCommand(options: ShellOptions): Promise<number> {
  const { reporter, signal } = options;
  let client: FerryClient | undefined = await options.connect(signal);
  let failures = 0;
  const lines = createInterface({ input: options.input, terminal: false, crlfDelay: Infinity });
  const prompt = (): void => {
    options.promptTo?.write(PROMPT);
  };
  const connected = async (): Promise<FerryClient> => (client ??= await options.connect(signal));
  try {
    prompt();
    for await (const raw of lines) {
      const line = parseShellLine(raw);
      if (line.verb === "quit") break;
      try {
        switch (line.verb) {
          case "empty":
            break;
          case "help":
            reporter.note(SHELL_HELP);
            break;
          case "usage":
            reporter.note(line.message);
            break;
          case "put": {
            let size: number;
            try {
              size = await checkLocalFile(line.arg);
            } catch {
              reporter.note(INVALID_NAME);
              break;
            }
            if (!(await uploadReported(await connected(), line.arg, size, options))) failures++;
            break;
          }
          case "get":
            failures += await getOne(await connected(), line.arg, { ...options, dir: ".", onConflict: "fail" });
            break;
          case "ls":
            reporter.listing(await (await connected()).list(line.arg));
            break;
          case "rm":
            await (await connected()).delete(line.arg);
            reporter.deleted(line.arg);
            break;
          default:
            assertNever(line);
        }
      } catch (error) {
        // Connection-level failures (reported already by the helpers, or here when (re)connecting
        // or listing failed); the next command reconnects.
        failures++;
        if (line.verb === "ls" || line.verb === "rm" || !client) reporter.failed(("arg" in line && line.arg) || line.verb, error);
        if (signal.aborted) throw error;
        if (isConnectionError(error)) {
          await client?.close();
          client = undefined;
        }
      }
      prompt();
    }
  } finally {
    lines.close();
    await client?.close();
  }
  return failures === 0 ? EXIT.OK : EXIT.SOME_FAILED;
}
