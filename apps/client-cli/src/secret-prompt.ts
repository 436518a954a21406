import type { ReadStream } from "node:tty";
import { UsageError } from "./settings.js";

/**
 * A share link's password for `ferry share --password`: FERRY_SHARE_PASSWORD if set (scripts);
 * on a terminal, asked twice without echo; otherwise the first line of standard input.
 */
export async function readSharePassword(env: NodeJS.ProcessEnv, stdin: NodeJS.ReadStream, stderr: NodeJS.WriteStream): Promise<string> {
  const fromEnv = env["FERRY_SHARE_PASSWORD"];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (stdin.isTTY) {
    const first = await hiddenLine(stdin as ReadStream, stderr, "Password for the link: ");
    const again = await hiddenLine(stdin as ReadStream, stderr, "Again: ");
    if (first !== again) throw new UsageError("--password: the two passwords differ");
    if (first === "") throw new UsageError("--password: an empty password protects nothing");
    return first;
  }
  const line = await firstLine(stdin);
  if (line === "") throw new UsageError("--password: give the password on standard input, in FERRY_SHARE_PASSWORD, or on a terminal");
  return line;
}

function hiddenLine(stdin: ReadStream, stderr: NodeJS.WriteStream, prompt: string): Promise<string> {
  stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer): void => {
      for (const char of chunk.toString("utf8")) {
        if (char === "\r" || char === "\n") return done(null);
        if (char === "\u0003") return done(new UsageError("--password: cancelled"));
        if (char === "\u007f" || char === "\b") text = text.slice(0, -1);
        else text += char;
      }
    };
    const done = (error: Error | null): void => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write("\n");
      if (error) reject(error);
      else resolve(text);
    };
    stdin.on("data", onData);
  });
}

async function firstLine(stdin: NodeJS.ReadStream): Promise<string> {
  let text = "";
  for await (const chunk of stdin) {
    text += (chunk as Buffer).toString("utf8");
    if (text.includes("\n")) break;
  }
  return text.split(/\r?\n/, 1)[0] ?? "";
}
