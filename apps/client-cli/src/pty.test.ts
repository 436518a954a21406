/**
 * `ferry` in a real terminal: a pseudo-terminal from python3's pty module (native pty addons cannot
 * be built here), driven like expect(1) by testing/pty_session.py. No timing: each step waits for
 * text; the hang detector is the only ceiling.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FerryServer } from "@ferry/server-core";
import { encodeControl, FrameDecoder, PROTOCOL_VERSION } from "@ferry/protocol";

const BIN = fileURLToPath(new URL("../dist/ferry.mjs", import.meta.url));
const SESSION = fileURLToPath(new URL("./testing/pty_session.py", import.meta.url));
const hasPython = (() => {
  try {
    execFileSync("python3", ["-c", "import pty"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

type Step = { expect: string } | { send: string };

/** Runs ferry in a 100-column terminal, plays `steps`, and returns its exit code and screen output. */
function inTerminal(args: string[], steps: Step[], cwd: string): Promise<{ exit: number; output: string }> {
  const child = spawn("python3", [SESSION, JSON.stringify([process.execPath, BIN, ...args]), JSON.stringify(steps), JSON.stringify({ COLUMNS: "100", LINES: "30", TERM: "xterm" })], { cwd });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.resume();
  return new Promise((resolve) => child.on("close", () => resolve(JSON.parse(out) as { exit: number; output: string })));
}

// eslint-disable-next-line no-control-regex -- stripping terminal escape sequences is the point
const plain = (text: string) => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");

let dir: string;
let server: FerryServer;
let port: number;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ferry-pty-"));
  server = new FerryServer({ port: 0, dir: path.join(dir, "store"), fsync: false });
  ({ port } = await server.start());
});
afterEach(async () => {
  await server.stop({ graceMs: 500 });
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasPython)("in a terminal", () => {
  it("the prompt edits the line: Home moves the cursor instead of echoing an escape code", async () => {
    const work = path.join(dir, "work");
    await mkdir(work);
    await writeFile(path.join(work, "ab.txt"), "edited");
    const result = await inTerminal(
      ["-p", String(port)],
      [
        // One key at a time, each waiting for the terminal's echo, as a person types (readline
        // takes a chunk of several keys as a paste).
        { expect: "Input filename you want to send: " },
        { send: "b.txt" },
        { expect: "b.txt" },
        { send: "\x1b[H" }, // Home: readline moves the cursor back over the 5 characters
        { expect: "\x1b[5D" },
        { send: "a" }, // inserted at the start: the line is redrawn
        { expect: "ab.txt" },
        { send: "\r" },
        { expect: "stored" },
        { expect: "Input filename you want to send: " },
        { send: "quit\r" },
      ],
      work,
    );
    expect(result.exit).toBe(0);
    expect(await readdir(path.join(dir, "store"))).toContain("ab.txt");
    expect(result.output).not.toContain("^[[H");
  });

  it("Ctrl+C during a transfer cancels it and brings the prompt back; the cancelled file counts as failed", async () => {
    // A server that welcomes and then never reads: the upload stays in progress until cancelled.
    const stuck = net.createServer((socket) => {
      const decoder = new FrameDecoder();
      socket.once("data", (chunk: Buffer) => {
        decoder.push(chunk.subarray(8)); // the preamble, then HELLO
        for (const part of encodeControl({ type: "welcome", version: PROTOCOL_VERSION, agent: "stuck", limits: { maxDataPayload: 1 << 20, maxFileSize: 2 ** 40 }, capabilities: ["upload"] })) socket.write(part);
        socket.pause();
      });
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => stuck.listen(0, "127.0.0.1", resolve));
    const stuckPort = (stuck.address() as net.AddressInfo).port;
    const work = path.join(dir, "work");
    await mkdir(work);
    await writeFile(path.join(work, "big.bin"), Buffer.alloc(64 * 1024 * 1024, 1));
    try {
      const result = await inTerminal(
        ["-p", String(stuckPort)],
        [
          { expect: "Input filename you want to send: " },
          { send: "big.bin\r" },
          { expect: "%" }, // the bar is drawn: the transfer is under way
          { send: "\x03" },
          { expect: "cancelled" },
          { expect: "Input filename you want to send: " },
          { send: "quit\r" },
        ],
        work,
      );
      expect(result.exit).toBe(1);
      expect(plain(result.output)).toContain("cancelled");
    } finally {
      stuck.close();
    }
  });

  it("Ctrl+C at an empty prompt ends ferry with 130", async () => {
    const result = await inTerminal(["-p", String(port)], [{ expect: "Input filename you want to send: " }, { send: "\x03" }], dir);
    expect(result.exit).toBe(130);
  });

  it("a folder send prints its result lines above the bar, never inside it", async () => {
    const folder = path.join(dir, "proj");
    await mkdir(folder);
    for (let i = 0; i < 24; i++) await writeFile(path.join(folder, `f${i}.bin`), Buffer.alloc(3 * 1024 * 1024, i));
    const result = await inTerminal(["send", "-p", String(port), folder], [], dir);
    expect(result.exit).toBe(0);
    // What starts a screen line: a line feed, a carriage return, or a move to column 1 (the bars redraw so).
    // eslint-disable-next-line no-control-regex -- ESC [ 1 G is what is matched
    const lines = result.output.split(/\r\n|\r|\n|\x1b\[1G/).map(plain);
    const stored = lines.filter((line) => line.includes("stored "));
    expect(stored).toHaveLength(24);
    // Each result line starts the line and carries no bar glyphs.
    for (const line of stored) {
      expect(line.startsWith("stored ")).toBe(true);
      expect(line).not.toMatch(/[\u2588\u2591]/);
    }
  });
});
