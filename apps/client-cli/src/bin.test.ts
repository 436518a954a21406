import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FerryServer, type ServerEvents } from "@ferry/server-core";
import { CliEventSchema, type CliEvent } from "./events.js";
import { encodeControl, FrameDecoder, PROTOCOL_VERSION } from "@ferry/protocol";

const BIN = fileURLToPath(new URL("../dist/ferry.mjs", import.meta.url));

let store: string;
let src: string;
let server: FerryServer;
let port: number;
const failed: ServerEvents["upload-failed"][0][] = [];

beforeEach(async () => {
  store = await mkdtemp(path.join(tmpdir(), "ferry-cli-store-"));
  src = await mkdtemp(path.join(tmpdir(), "ferry-cli-src-"));
  server = new FerryServer({ port: 0, dir: store, fsync: false });
  failed.length = 0;
  server.on("upload-failed", (e) => failed.push(e));
  ({ port } = await server.start());
});

afterEach(async () => {
  await server.stop({ graceMs: 500 });
  await rm(store, { recursive: true, force: true });
  await rm(src, { recursive: true, force: true });
});

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `ferry` binary as a user would, with optional stdin. */
function ferry(args: string[], stdin?: string, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: "1", ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(stdin ?? "");
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

async function file(name: string, content: string | Buffer): Promise<string> {
  const full = path.join(src, name);
  await writeFile(full, content);
  return full;
}

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** --json output, every line validated against the documented schema (docs/cli-events.md). */
function events(stdout: string): CliEvent[] {
  return stdout
    .trim()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => CliEventSchema.parse(JSON.parse(line)));
}

const fileEvents = (list: CliEvent[]) => list.filter((e): e is Extract<CliEvent, { type: "file" }> => e.type === "file");

/** What is in the server's storage dir: temp files included, the server's index log aside. */
async function storedFiles(): Promise<string[]> {
  return (await readdir(store)).filter((name) => name !== ".ferry-index.jsonl").sort();
}

async function settled(): Promise<void> {
  // The server finishes a connection's bookkeeping a moment after the client has gone. No deadline:
  // the test's hang detector is the ceiling (vitest.shared.ts).
  while (server.activeConnections > 0) await new Promise((r) => setTimeout(r, 10));
}

describe("ferry send", () => {
  it("stores every file, prints one result line each, exits 0", async () => {
    const binary = randomBytes(200_000);
    const a = await file("a.bin", binary);
    const b = await file("b.txt", "text\n");
    const result = await ferry(["send", "-p", String(port), a, b]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`stored ${a}`);
    expect(result.stdout).toContain(`sha256 ${sha(binary)}`);
    expect(await readFile(path.join(store, "a.bin"))).toEqual(binary);
    expect(await readFile(path.join(store, "b.txt"), "utf8")).toBe("text\n");
  });

  it("reads FERRY_PORT from the environment", async () => {
    const a = await file("env.txt", "x");
    const result = await ferry(["send", a], undefined, { FERRY_PORT: String(port) });
    expect(result.code).toBe(0);
  });

  it("sends the others, reports the missing file and exits 1", async () => {
    const ok = await file("ok.txt", "fine");
    const result = await ferry(["send", "-p", String(port), path.join(src, "missing.txt"), ok]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("missing.txt: LOCAL_FILE_ERROR");
    expect(await storedFiles()).toEqual(["ok.txt"]);
  });

  it("prints JSON lines with --json", async () => {
    const a = await file("j.txt", "json");
    const result = await ferry(["send", "--json", "-p", String(port), a, path.join(src, "nope")]);
    expect(result.code).toBe(1);
    expect(events(result.stdout)).toEqual([
      { type: "start", version: 1, command: "send", server: { host: "127.0.0.1", port } },
      expect.objectContaining({ type: "file", direction: "up", file: path.join(src, "nope"), outcome: "failed", code: "LOCAL_FILE_ERROR" }),
      expect.objectContaining({ type: "file", direction: "up", file: a, outcome: "created", name: "j.txt", size: 4, sha256: sha("json") }),
      expect.objectContaining({ type: "summary", files: { done: 1, failed: 1, skipped: 0 }, bytes: 4, exitCode: 1 }),
    ]);
  });

  it("--raw sends bare bytes the server stores as output0.txt", async () => {
    const a = await file("lab.txt", "as the lab did\n");
    const result = await ferry(["send", "--raw", "-p", String(port), a]);
    expect(result.code).toBe(0);
    await settled();
    expect(await readFile(path.join(store, "output0.txt"), "utf8")).toBe("as the lab did\n");
  });

  it("exits 3 with a hint when nothing listens", async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const free = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const result = await ferry(["send", "-p", String(free), await file("x.txt", "x")]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("CONNECT_FAILED");
    expect(result.stderr).toContain("is ferry-server running there?");
  });

  it("exits 3 with BUSY when the server is full", async () => {
    await server.stop();
    // slotGraceMs: an hour, so the silent hog keeps its slot however slow this machine is.
    server = new FerryServer({ port: 0, dir: store, fsync: false, maxClients: 1, slotGraceMs: 3_600_000 });
    ({ port } = await server.start());
    const accepted = new Promise((r) => server.once("connection", r));
    const hog = net.connect({ host: "127.0.0.1", port });
    await accepted; // the hog holds the only slot
    const result = await ferry(["send", "-p", String(port), await file("x.txt", "x")]);
    hog.destroy();
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("BUSY");
  });

  it("leaves no file under its name and no temp when the client is killed mid-upload (only the partial, for resume)", async () => {
    const big = await file("big.bin", randomBytes(48 * 1024 * 1024));
    const child = spawn(process.execPath, [BIN, "send", "-q", "-p", String(port), big]);
    child.stdout.resume();
    child.stderr.resume();
    await new Promise<void>((resolve) => server.once("upload-started", () => resolve()));
    child.kill("SIGKILL");
    await new Promise((r) => child.on("close", r));
    await settled();
    expect((await storedFiles()).filter((n) => !n.startsWith(".ferry-part-"))).toEqual([]);
    expect(failed).toEqual([expect.objectContaining({ name: "big.bin", code: "CONNECTION_LOST" })]);
  });
});

describe("interrupts and re-runs tell the truth", () => {
  it("SIGTERM mid-upload: exit 143, the file reported kept for resume, one line to run again; the re-run resumes, the next is unchanged", async () => {
    const big = await file("term.bin", randomBytes(48 * 1024 * 1024));
    const child = spawn(process.execPath, [BIN, "send", "-q", "-p", String(port), big]);
    let stderr = "";
    child.stdout.resume();
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const partial = async (): Promise<number> => {
      const { stat } = await import("node:fs/promises");
      const names = (await readdir(store)).filter((n) => n.startsWith(".ferry-part-") && !n.endsWith(".journal"));
      return names.length ? (await stat(path.join(store, names[0]!))).size : 0;
    };
    // Two 8 MiB chunks and more on the server's disk: at least one is journalled, whatever the timing.
    while ((await partial()) < 24 * 1024 * 1024) await new Promise((r) => setTimeout(r, 5));
    child.kill("SIGTERM");
    const code = await new Promise((r) => child.on("close", r));
    expect(code).toBe(143);
    expect(stderr).toContain("interrupted");
    expect(stderr).toMatch(/term\.bin: not stored; the server keeps what it received/);
    expect(stderr).toContain("run the same command again to continue");
    await settled();

    const again = await ferry(["send", "--json", "-p", String(port), big]);
    expect(again.code).toBe(0);
    const [resumed] = fileEvents(events(again.stdout));
    expect(resumed).toMatchObject({ outcome: "created", name: "term.bin" });
    expect(resumed!.resumedFrom).toBeGreaterThan(0);

    const third = await ferry(["send", "-p", String(port), big]);
    expect(third.code).toBe(0);
    expect(third.stdout).toContain("unchanged");
    expect(await storedFiles()).toEqual(["term.bin"]); // never a "term (1).bin"
  });
});

describe("an interrupt after the last byte", () => {
  it("reports the file stored when the server stores it: Ctrl+C while its answer is on the way", async () => {
    // A scripted server that holds its STORED until ferry has taken the Ctrl+C.
    let putEnd: () => void = () => undefined;
    const endSeen = new Promise<void>((resolve) => (putEnd = resolve));
    let answer: () => void = () => undefined;
    const fake = net.createServer((socket) => {
      const decoder = new FrameDecoder();
      let put: { id: number; name: string; size: number } | undefined;
      socket.on("error", () => undefined);
      let head = true;
      socket.on("data", (chunk: Buffer) => {
        for (const frame of decoder.push(head ? chunk.subarray(8) : chunk)) {
          if (frame.kind !== "control") continue;
          const message = frame.message;
          if (message.type === "hello") {
            for (const part of encodeControl({ type: "welcome", version: PROTOCOL_VERSION, agent: "fake", limits: { maxDataPayload: 1 << 20, maxFileSize: 2 ** 40 }, capabilities: ["upload"] })) socket.write(part);
          } else if (message.type === "put") {
            put = message;
          } else if (message.type === "put_end" && put) {
            const stored = { type: "stored" as const, id: put.id, name: put.name, size: put.size, sha256: message.sha256 };
            answer = () => {
              for (const part of encodeControl(stored)) socket.write(part);
            };
            putEnd();
          }
        }
        head = false;
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    try {
      const a = await file("last-byte.txt", "every byte sent");
      const child = spawn(process.execPath, [BIN, "send", "-p", String((fake.address() as net.AddressInfo).port), a]);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      const stopping = new Promise<void>((resolve) =>
        child.stderr.on("data", (c: Buffer) => {
          stderr += c.toString();
          if (stderr.includes("stopping")) resolve();
        }),
      );
      await endSeen;
      child.kill("SIGINT");
      await stopping; // ferry has taken the Ctrl+C; only now does the server answer
      answer();
      const code = await new Promise((r) => child.on("close", r));
      expect(code).toBe(130);
      expect(stdout).toContain(`stored ${a} as last-byte.txt`); // before: reported ABORTED, although stored
      expect(stderr).not.toContain("ABORTED");
      expect(stderr).toContain("run the same command again");
    } finally {
      fake.close();
    }
  });
});

describe("resume", () => {
  it("a client killed at half of a 200 MiB upload continues on the next run and moves well under the full size", async () => {
    const big = await file("huge.bin", Buffer.alloc(0));
    {
      const { open } = await import("node:fs/promises");
      const handle = await open(big, "w");
      for (let i = 0; i < 200; i++) await handle.write(randomBytes(1024 * 1024));
      await handle.close();
    }
    const child = spawn(process.execPath, [BIN, "send", "-q", "-p", String(port), big]);
    child.stdout.resume();
    child.stderr.resume();
    const partial = async (): Promise<number> => {
      const { stat } = await import("node:fs/promises");
      const names = (await readdir(store)).filter((n) => n.startsWith(".ferry-part-") && !n.endsWith(".journal"));
      return names.length ? (await stat(path.join(store, names[0]!))).size : 0;
    };
    while ((await partial()) < 100 * 1024 * 1024) await new Promise((r) => setTimeout(r, 5));
    child.kill("SIGKILL");
    await new Promise((r) => child.on("close", r));
    await settled();
    expect(await storedFiles()).not.toContain("huge.bin");

    const again = await ferry(["send", "--json", "-p", String(port), big]);
    expect(again.code).toBe(0);
    const result = fileEvents(events(again.stdout))[0]!;
    expect(result.resumedFrom).toBeGreaterThanOrEqual(64 * 1024 * 1024); // so at most ~2/3 moved again
    const { createReadStream } = await import("node:fs");
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(big)) hash.update(chunk as Buffer);
    expect(result.sha256).toBe(hash.digest("hex"));
    expect(await storedFiles()).toEqual(["huge.bin"]); // no partial, no journal left
  });
});

describe("ferry shell (the lab's prompt loop)", () => {
  it("sends each named file over one connection, re-asks on a bad name, ends on quit", async () => {
    const a = await file("one.txt", "1");
    const b = await file("two.bin", Buffer.from([0, 1, 2]));
    const connections: number[] = [];
    server.on("connection", (e) => connections.push(e.connection));
    const result = await ferry(["shell", "-p", String(port)], `${a}\n\nno-such-file\n${b}\nquit\n${a}\n`);
    expect(result.code).toBe(1); // the bad name counts as a failed file (exit-code table)
    expect(result.stderr).toContain("You entered an invalid filename! Please enter a valid name");
    expect(result.stdout.match(/^stored /gm)).toHaveLength(2);
    expect((await storedFiles()).sort()).toEqual(["one.txt", "two.bin"]); // nothing after quit
    expect(connections).toHaveLength(1);
  });

  it("runs with no command and ends at end of input", async () => {
    const a = await file("eof.txt", "eof");
    const result = await ferry(["-p", String(port)], `${a}\n`);
    expect(result.code).toBe(0);
    expect(await storedFiles()).toEqual(["eof.txt"]);
  });
});

describe("ferry get, ls, rm", () => {
  async function upload(name: string, content: string | Buffer): Promise<void> {
    const result = await ferry(["send", "-q", "-p", String(port), await file(name, content)]);
    expect(result.code).toBe(0);
  }

  it("downloads into -o DIR byte-identical, refuses to overwrite by default, and lists and deletes", async () => {
    const binary = randomBytes(300_000);
    await upload("pic.bin", binary);
    await upload("notes.txt", "hello");
    const out = path.join(src, "downloads");
    const got = await ferry(["get", "-p", String(port), "-o", out, "pic.bin", "notes.txt"]);
    expect(got.code).toBe(0);
    expect(got.stdout).toContain(`sha256 ${sha(binary)}`);
    expect(await readFile(path.join(out, "pic.bin"))).toEqual(binary);

    const again = await ferry(["get", "-p", String(port), "-o", out, "notes.txt"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("ALREADY_EXISTS");
    const renamed = await ferry(["get", "-p", String(port), "-o", out, "--on-conflict", "rename", "notes.txt"]);
    expect(renamed.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual(["notes (1).txt", "notes.txt", "pic.bin"]);

    const listed = await ferry(["ls", "--json", "-p", String(port)]);
    const entries = events(listed.stdout).filter((e) => e.type === "entry") as { name: string; sha256: string | null }[];
    expect(entries.map((e) => e.name)).toEqual(["notes.txt", "pic.bin"]);
    expect(entries[1]!.sha256).toBe(sha(binary));

    const removed = await ferry(["rm", "-p", String(port), "notes.txt", "missing.txt"]);
    expect(removed.code).toBe(1);
    expect(removed.stdout).toContain("deleted notes.txt");
    expect(removed.stderr).toContain("missing.txt: NOT_FOUND");
    expect(await storedFiles()).toEqual(["pic.bin"]);
  });

  it("sends a folder with its paths, skips symlinks, and gets it back whole", async () => {
    const project = path.join(src, "project");
    await mkdir(path.join(project, "sub"), { recursive: true });
    await writeFile(path.join(project, "a.txt"), "top");
    await writeFile(path.join(project, "sub", "b.bin"), Buffer.from([1, 2, 3]));
    await writeFile(path.join(project, "sub", "empty"), "");
    await symlink("/etc/hostname", path.join(project, "link"));
    const sent = await ferry(["send", "-p", String(port), project]);
    expect(sent.code).toBe(0);
    expect(sent.stderr).toContain("link: symbolic link (not followed)");
    expect(await readFile(path.join(store, "project", "sub", "b.bin"))).toEqual(Buffer.from([1, 2, 3]));
    const listed = await ferry(["ls", "-p", String(port), "project/sub"]);
    expect(listed.stdout).toContain("project/sub/b.bin");
    expect(listed.stdout).not.toContain("project/a.txt");
    const out = path.join(src, "restored");
    const got = await ferry(["get", "-p", String(port), "-o", out, "project"]);
    expect(got.code).toBe(0);
    expect(await readFile(path.join(out, "project", "a.txt"), "utf8")).toBe("top");
    expect(await readFile(path.join(out, "project", "sub", "empty"), "utf8")).toBe("");
    expect(await readdir(path.join(out, "project"))).not.toContain("link");
  });

  it("send --on-conflict overwrite replaces the server's copy", async () => {
    await upload("same.txt", "one");
    const result = await ferry(["send", "-p", String(port), "--on-conflict", "overwrite", await file("same.txt", "two")]);
    expect(result.code).toBe(0);
    expect(await readFile(path.join(store, "same.txt"), "utf8")).toBe("two");
  });

  it("the prompt loop also lists, downloads (files and folders) and deletes", async () => {
    await upload("remote.txt", "from the server");
    await mkdir(path.join(store, "docs", "deep"), { recursive: true });
    await writeFile(path.join(store, "docs", "deep", "a.txt"), "in a folder");
    const cwd = await mkdtemp(path.join(tmpdir(), "ferry-cli-cwd-"));
    try {
      const child = spawn(process.execPath, [BIN, "shell", "-p", String(port)], { cwd, env: { ...process.env, NO_COLOR: "1" } });
      let stdout = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.resume();
      child.stdin.end("ls\nget remote.txt\nget docs\nrm remote.txt\nls\nquit\n");
      const code = await new Promise((resolve) => child.on("close", resolve));
      expect(code).toBe(0);
      expect(stdout).toContain("remote.txt");
      expect(stdout).toContain("deleted remote.txt");
      expect(await readFile(path.join(cwd, "remote.txt"), "utf8")).toBe("from the server");
      expect(await readFile(path.join(cwd, "docs", "deep", "a.txt"), "utf8")).toBe("in a folder");
      expect(await storedFiles()).toEqual(["docs"]);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});

describe("help and version", () => {
  it("documents exit codes in --help and prints the version", async () => {
    const help = await ferry(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Exit codes:");
    expect(help.stdout).toContain("send [options] <path...>");
    const version = await ferry(["--version"]);
    expect(version.stdout.trim()).toBe("0.1.0");
  });

  it("stops quietly with 141 when the reader of its output goes away (ferry --help | head -1)", async () => {
    // A pipe whose reader has already closed: the first write gets EPIPE.
    const child = spawn(process.execPath, [BIN, "--help"], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(141);
    expect(stderr).toBe("");
  });

  it("exits 2 on a bad port", async () => {
    const result = await ferry(["send", "-p", "http", "x"]);
    expect(result.code).toBe(2);
  });
});

describe("exit codes (the table in --help and the README)", () => {
  it.each([
    [["--bogus"], "unknown option '--bogus'"],
    [["send", "-p", "1"], "missing required argument 'path'"],
    [["send", "--on-conflict", "bogus", "x"], "option '--on-conflict <policy>' argument 'bogus' is invalid"],
    [["get"], "missing required argument 'name'"],
    [["rm", "--nope", "x"], "unknown option '--nope'"],
    [["ls", "a", "b"], "too many arguments"],
  ])("ferry %j is a usage error: exit 2, the error and where to read more, nothing else", async (args, message) => {
    const result = await ferry(args);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split("\n");
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(lines[0]).toContain(message);
    expect(lines[0]).toMatch(/^ferry: /);
    expect(lines[1]).toMatch(/^see 'ferry( \w+)? --help'$/);
    expect(result.stdout).toBe("");
  });

  it("a usage error with --json is also an error event", async () => {
    const result = await ferry(["send", "--json", "--on-conflict", "bogus", "x"]);
    expect(result.code).toBe(2);
    expect(events(result.stdout)).toEqual([expect.objectContaining({ type: "error", code: "USAGE" })]);
  });

  it("ferry help CMD shows that command's help and exits 0; --help lists the exit codes", async () => {
    const help = await ferry(["help", "send"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: ferry send");
    const top = await ferry(["--help"]);
    expect(top.code).toBe(0);
    for (const code of ["0 ", "1 ", "2 ", "3 ", "130"]) expect(top.stdout).toContain(`  ${code}`);
  });

  it("exit 1 names each missing path and still sends the others; exit 3 when nothing listens", async () => {
    const a = await file("there.txt", "here");
    const result = await ferry(["send", "-p", String(port), path.join(src, "gone.txt"), a]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("gone.txt");
    expect(await storedFiles()).toEqual(["there.txt"]);
    const closed = await ferry(["send", "-p", "1", a]);
    expect(closed.code).toBe(3);
  });
});

describe("honest text", () => {
  it("a name with a backslash is shown as typed (one backslash), and the prompt's advice is advice it takes", async () => {
    const odd = await file("a\\b.txt", "x");
    const sent = await ferry(["send", "-p", String(port), odd]);
    expect(sent.code).toBe(1);
    expect(sent.stderr).toContain('"a\\b.txt"');
    expect(sent.stderr).not.toContain("a\\\\b");
    await ferry(["send", "-p", String(port), await file("here.txt", "x")]);
    const work = await mkdtemp(path.join(tmpdir(), "ferry-cli-work-"));
    await writeFile(path.join(work, "here.txt"), "local");
    const child = spawn(process.execPath, [BIN, "shell", "-p", String(port)], { cwd: work });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdout.resume();
    child.stdin.end("get here.txt\n");
    expect(await new Promise((r) => child.on("close", r))).toBe(1);
    expect(stderr).toContain("ALREADY_EXISTS");
    expect(stderr).toContain("move or rename the local file");
    expect(stderr).not.toContain("--on-conflict");
    const command = await ferry(["get", "-p", String(port), "-o", work, "here.txt"]);
    expect(command.stderr).toContain("--on-conflict");
    await rm(work, { recursive: true, force: true });
  });
});

describe("--json: the NDJSON event stream (docs/cli-events.md)", () => {
  it("documents exactly the schema the CLI emits", async () => {
    const { z } = await import("zod");
    const doc = await readFile(fileURLToPath(new URL("../../../docs/cli-events.md", import.meta.url)), "utf8");
    expect(doc).toContain(JSON.stringify(z.toJSONSchema(CliEventSchema), null, 2));
  });

  it("send, get, ls, rm and the prompt: every line validates, failures and skips included", async () => {
    const project = path.join(src, "proj");
    await mkdir(project);
    await writeFile(path.join(project, "a.txt"), "a");
    await symlink("/etc/hostname", path.join(project, "link"));
    const sent = events((await ferry(["send", "--json", "-p", String(port), project])).stdout);
    expect(fileEvents(sent).map((e) => [path.basename(e.file), e.outcome])).toEqual([
      ["link", "skipped"],
      ["a.txt", "created"],
    ]);
    expect(sent.at(-1)).toMatchObject({ type: "summary", files: { done: 1, failed: 0, skipped: 1 }, exitCode: 0 });

    const out = path.join(src, "out");
    const got = events((await ferry(["get", "--json", "-p", String(port), "-o", out, "proj/a.txt", "nothing.txt"])).stdout);
    expect(fileEvents(got).map((e) => [e.file, e.direction, e.outcome, e.code])).toEqual([
      ["proj/a.txt", "down", "created", undefined],
      ["nothing.txt", "down", "failed", "NOT_FOUND"],
    ]);
    expect(got.at(-1)).toMatchObject({ type: "summary", exitCode: 1 });

    const listed = events((await ferry(["ls", "--json", "-p", String(port)])).stdout);
    expect(listed.filter((e) => e.type === "entry")).toEqual([expect.objectContaining({ type: "entry", name: "proj/a.txt", size: 1, sha256: sha("a") })]);

    const shell = await ferry(["shell", "--json", "-p", String(port)], "no-such-file\nls\n");
    const prompted = events(shell.stdout);
    expect(shell.code).toBe(1);
    expect(prompted).toContainEqual(expect.objectContaining({ type: "error", file: "no-such-file", code: "LOCAL_FILE_ERROR" }));
    expect(prompted).toContainEqual(expect.objectContaining({ type: "entry", name: "proj/a.txt" }));
    expect(prompted.at(-1)).toMatchObject({ type: "summary", exitCode: 1 });

    const removed = events((await ferry(["rm", "--json", "-r", "-p", String(port), "proj"])).stdout);
    expect(fileEvents(removed)).toEqual([expect.objectContaining({ direction: "delete", file: "proj/a.txt", outcome: "deleted" })]);

    const unreachable = await ferry(["ls", "--json", "-p", "1"]);
    expect(unreachable.code).toBe(3);
    expect(events(unreachable.stdout)).toContainEqual(expect.objectContaining({ type: "error", code: "CONNECT_FAILED" }));
  });
});

describe("folders", () => {
  it("rm needs -r for a folder, and rm -r proj/ deletes it with everything in it", async () => {
    const project = path.join(src, "proj");
    await mkdir(path.join(project, "deep"), { recursive: true });
    await writeFile(path.join(project, "a.txt"), "a");
    await writeFile(path.join(project, "deep", "b.txt"), "b");
    expect((await ferry(["send", "-p", String(port), project])).code).toBe(0);
    const refused = await ferry(["rm", "-p", String(port), "proj"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("IS_A_FOLDER");
    expect(refused.stderr).toContain("ferry rm -r");
    const listed = await ferry(["ls", "-p", String(port), "proj/"]);
    expect(listed.stdout).toContain("proj/deep/b.txt");
    const removed = await ferry(["rm", "-r", "-p", String(port), "proj/"]);
    expect(removed.code).toBe(0);
    expect(await storedFiles()).toEqual([]); // the emptied folders went too
  });

  it("empty folders make the round trip: send, get back, rm -r", async () => {
    const project = path.join(src, "tree");
    await mkdir(path.join(project, "empty", "deeper"), { recursive: true });
    await mkdir(path.join(project, "also-empty"));
    await writeFile(path.join(project, "file.txt"), "f");
    expect((await ferry(["send", "-p", String(port), project])).code).toBe(0);
    expect((await readdir(path.join(store, "tree"))).sort()).toEqual(["also-empty", "empty", "file.txt"]);
    expect(await readdir(path.join(store, "tree", "empty"))).toEqual(["deeper"]);
    const out = path.join(src, "back");
    const got = await ferry(["get", "--json", "-p", String(port), "-o", out, "tree"]);
    expect(got.code).toBe(0);
    expect(fileEvents(events(got.stdout)).map((e) => e.name).sort()).toEqual(["tree/also-empty/", "tree/empty/deeper/", "tree/file.txt"]);
    expect(await readdir(path.join(out, "tree", "empty", "deeper"))).toEqual([]);
    expect(await readdir(path.join(out, "tree", "also-empty"))).toEqual([]);
    expect((await ferry(["rm", "-r", "-p", String(port), "tree"])).code).toBe(0);
    expect(await storedFiles()).toEqual([]);
  });

  it("get proj/ fetches the folder; get FILE asks with one GET, never a LIST", async () => {
    const project = path.join(src, "proj");
    await mkdir(project);
    await writeFile(path.join(project, "a.txt"), "a");
    expect((await ferry(["send", "-p", String(port), project])).code).toBe(0);
    const lists: unknown[] = [];
    server.on("request-failed", (e) => lists.push(e));
    const out = path.join(src, "out");
    expect((await ferry(["get", "-p", String(port), "-o", out, "proj/"])).code).toBe(0);
    expect(await readFile(path.join(out, "proj", "a.txt"), "utf8")).toBe("a");
    expect((await ferry(["get", "-p", String(port), "-o", path.join(src, "one"), "proj/a.txt"])).code).toBe(0);
    expect(lists).toEqual([]); // before: every get of a file logged "list failed: NOT_FOUND … is not a folder here"
  });

  it("a name that is not UTF-8 is reported and fails the run; the other files are stored", async () => {
    const project = path.join(src, "mixed");
    await mkdir(project);
    await writeFile(path.join(project, "good.txt"), "good");
    await writeFile(Buffer.concat([Buffer.from(`${project}/bad`), Buffer.from([0xff, 0xfe]), Buffer.from(".txt")]), "bad");
    const result = await ferry(["send", "--json", "-p", String(port), project]);
    expect(result.code).toBe(1);
    const files = fileEvents(events(result.stdout));
    expect(files).toContainEqual(expect.objectContaining({ outcome: "failed", code: "UNSENDABLE_NAME" }));
    expect(files).toContainEqual(expect.objectContaining({ outcome: "created", name: "mixed/good.txt" }));
    expect(await readFile(path.join(store, "mixed", "good.txt"), "utf8")).toBe("good");
  });
});
