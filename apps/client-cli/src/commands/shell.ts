import path from "node:path";
import { createInterface } from "node:readline";
import { FerryClient } from "@ferry/client-core";
import { EXIT, isConnectionError } from "../exit-codes.js";
import type { ProgressReporter } from "../progress.js";
import type { Reporter } from "../report.js";
import { assertNever } from "@ferry/protocol";
import { getOne } from "./get.js";
import { removeOne } from "./ls.js";
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
  /**
   * Hands the caller what Ctrl+C (SIGINT) should do while the prompt runs: `cancelCommand()` cancels
   * the command in progress and returns true, or returns false when none runs (then ferry ends).
   */
  onInterrupt?: (cancelCommand: () => boolean) => void;
  /** Ends ferry as Ctrl+C at the prompt does (a terminal's readline reports it, not the process). */
  interrupt?: () => void;
}

/**
 * The lab's loop, done right: ask for a file name, send it over the one connection, repeat.
 * A bad name is reported and the loop goes on; `quit`, `exit` or end of input ends it. It also
 * takes put/get/ls/rm/help (see SHELL_HELP). If the server drops the connection, the next
 * command reconnects.
 */
export async function shellCommand(options: ShellOptions): Promise<number> {
  const { reporter } = options;
  reporter.where = "prompt";
  let client: FerryClient | undefined = await options.connect(options.signal);
  let failures = 0;
  // On a terminal: readline's line editing and history (arrows, Home, Ctrl+L); on a pipe, plain lines.
  const terminal = options.promptTo !== null && Boolean((options.input as NodeJS.ReadStream).isTTY);
  const lines = createInterface({
    input: options.input,
    ...(terminal ? { output: options.promptTo!, terminal: true, historySize: 1000, prompt: PROMPT } : { terminal: false }),
    crlfDelay: Infinity,
  });
  const prompt = (): void => {
    reporter.flush(); // the last command's result lines, then the prompt
    if (terminal) lines.prompt();
    else options.promptTo?.write(PROMPT);
  };
  // The command in progress, which Ctrl+C cancels (the prompt then comes back).
  let running: AbortController | undefined;
  const cancelCommand = (): boolean => {
    if (!running) return false;
    running.abort();
    return true;
  };
  options.onInterrupt?.(cancelCommand);
  lines.on("SIGINT", () => {
    if (cancelCommand()) return;
    lines.close();
    options.interrupt?.();
  });
  const stop = (): void => lines.close();
  options.signal.addEventListener("abort", stop, { once: true });
  let signal = options.signal;
  const connected = async (): Promise<FerryClient> => (client ??= await options.connect(signal));
  try {
    prompt();
    for await (const raw of lines) {
      const line = parseShellLine(raw);
      if (line.verb === "quit") break;
      running = new AbortController();
      signal = AbortSignal.any([options.signal, running.signal]);
      const commandOptions = { ...options, signal };
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
            } catch (error) {
              failures++;
              reporter.invalidName(line.arg, INVALID_NAME, error);
              break;
            }
            const name = line.to === undefined ? undefined : `${line.to}${path.basename(line.arg).normalize("NFC")}`;
            if (!(await uploadReported(await connected(), line.arg, size, { ...commandOptions, ...(name !== undefined ? { name } : {}) }))) failures++;
            break;
          }
          case "get":
            failures += await getOne(await connected(), line.arg, { ...commandOptions, dir: ".", onConflict: "fail" });
            break;
          case "ls":
            reporter.listing(await (await connected()).list(line.arg));
            break;
          case "rm":
            failures += await removeOne(await connected(), line.arg, { ...commandOptions, recursive: line.recursive === true });
            break;
          default:
            assertNever(line);
        }
      } catch (error) {
        // Connection-level failures (reported already by the helpers, or here when (re)connecting
        // or listing failed), and commands cancelled with Ctrl+C; the next command reconnects.
        failures++;
        if (options.signal.aborted) throw error;
        const cancelled = running.signal.aborted;
        if (cancelled) reporter.note("cancelled");
        else if (line.verb === "ls" || !client) reporter.failed(("arg" in line && line.arg) || line.verb, error);
        if (cancelled || isConnectionError(error)) {
          await client?.close();
          client = undefined;
        }
      } finally {
        running = undefined;
      }
      prompt();
    }
  } finally {
    options.signal.removeEventListener("abort", stop);
    lines.close();
    await client?.close();
  }
  return failures === 0 ? EXIT.OK : EXIT.SOME_FAILED;
}
