// The built ferry-server, run as users run it, for the binary's tests (bin.test.ts, workers.test.ts).
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../dist/ferry-server.mjs", import.meta.url));
const cleanups: (() => Promise<void>)[] = [];

/** Runs `cleanup` after the test (with the servers and temp dirs it started). */
export function onCleanup(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

/** Stops what the test started (servers killed, temp dirs removed), last first: for afterEach. */
export async function runCleanups(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "ferry-server-cli-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface Running {
  child: ChildProcessWithoutNullStreams;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs the built ferry-server and waits for its "listening on HOST:PORT" line. */
export async function startServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Running> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on("data", () => {
      const match = /listening on 127\.0\.0\.1:(\d+)|"event":"listening".*?"port":(\d+)/.exec(out);
      if (match) resolve(Number(match[1] ?? match[2]));
    });
    void exited.then((code) => reject(new Error(`exited ${code} before listening:\n${out}`)));
  });
  return { child, port, output: () => out, exited };
}

export async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
  let stderr = "";
  let stdout = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  return { code, stderr, stdout };
}

/** Waits for a condition of the server's output; the test's hang detector is the only ceiling. */
export async function waitFor(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 20));
}

