import { createInterface } from "node:readline";
import { FerryClient } from "@ferry/client-core";
import type { ClientConfig } from "@ferry/protocol";
import { EXIT, isConnectionError } from "../exit-codes.js";
import type { ProgressReporter } from "../progress.js";
import type { Reporter } from "../report.js";
import { checkLocalFile, uploadReported } from "./send.js";

export const PROMPT = "Input filename you want to send: ";
export const INVALID_NAME = "You entered an invalid filename! Please enter a valid name";

export interface ShellOptions {
  config: ClientConfig;
  signal: AbortSignal;
  reporter: Reporter;
  progress: ProgressReporter;
  input: NodeJS.ReadableStream;
  /** Where the prompt goes; null for no prompt (input is not a terminal). */
  promptTo: NodeJS.WritableStream | null;
}

/**
 * The lab's loop, done right: ask for a file name, send it over the one connection, repeat.
 * A bad name is reported and the loop goes on; `quit`, `exit` or end of input ends it.
 * If the server drops the connection, the next file reconnects.
 */
export async function shellCommand(options: ShellOptions): Promise<number> {
  const { config, reporter, signal } = options;
  let client: FerryClient | undefined = await FerryClient.connect(config, { signal });
  let failures = 0;
  const lines = createInterface({ input: options.input, terminal: false, crlfDelay: Infinity });
  const prompt = (): void => {
    options.promptTo?.write(PROMPT);
  };
  try {
    prompt();
    for await (const raw of lines) {
      const file = raw.trim();
      if (file === "quit" || file === "exit") break;
      if (file === "") {
        prompt();
        continue;
      }
      let size: number;
      try {
        size = await checkLocalFile(file);
      } catch {
        reporter.note(INVALID_NAME);
        prompt();
        continue;
      }
      try {
        client ??= await FerryClient.connect(config, { signal });
        if (!(await uploadReported(client, file, size, options))) failures++;
      } catch (error) {
        // Connection-level: reported by uploadReported, or here when (re)connecting failed.
        failures++;
        if (!client) reporter.failed(file, error);
        if (signal.aborted) throw error;
        if (isConnectionError(error)) {
          await client?.close();
          client = undefined; // reconnect for the next file
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
