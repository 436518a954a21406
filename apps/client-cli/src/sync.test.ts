// Sending again what the server already holds moves no file bytes (issue 15, "unchanged").
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FerryServer } from "@ferry/server-core";
import { CliEventSchema, type CliEvent } from "./events.js";

const BIN = fileURLToPath(new URL("../dist/ferry.mjs", import.meta.url));
let store: string;
let src: string;
let server: FerryServer;
let proxy: net.Server;
let proxyPort: number;
/** Bytes the client sent, and received, through the proxy. */
let upstream = 0;
let downstream = 0;

beforeEach(async () => {
  store = await mkdtemp(path.join(tmpdir(), "ferry-sync-store-"));
  src = await mkdtemp(path.join(tmpdir(), "ferry-sync-src-"));
  server = new FerryServer({ port: 0, dir: store, fsync: false });
  const { port } = await server.start();
  // A counting TCP proxy between ferry and the server: what crossed the wire, not what was reported.
  proxy = net.createServer((client) => {
    const target = net.connect(port, "127.0.0.1");
    client.on("data", (chunk: Buffer) => (upstream += chunk.length));
    target.on("data", (chunk: Buffer) => (downstream += chunk.length));
    client.pipe(target).pipe(client);
    client.on("error", () => target.destroy());
    target.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyPort = (proxy.address() as net.AddressInfo).port;
});

afterEach(async () => {
  proxy.close();
  await server.stop({ graceMs: 500 });
  await rm(store, { recursive: true, force: true });
  await rm(src, { recursive: true, force: true });
});

function ferry(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, "-p", String(proxyPort), ...args], { env: { ...process.env, NO_COLOR: "1" } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdin.end();
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

function outcomes(stdout: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of stdout.trim().split("\n")) {
    const event: CliEvent = CliEventSchema.parse(JSON.parse(line));
    if (event.type === "file") counts[event.outcome] = (counts[event.outcome] ?? 0) + 1;
  }
  return counts;
}

describe("send, again", () => {
  it("moves no file bytes for a 1,000-file folder the server already holds, and reports 1,000 unchanged", async () => {
    const folder = path.join(src, "photos");
    await mkdir(path.join(folder, "sub"), { recursive: true });
    for (let i = 0; i < 1000; i++) await writeFile(path.join(folder, i % 2 ? "sub" : "", `f${i}.dat`), `file ${i} `.repeat(100));
    const first = await ferry(["send", "--json", folder]);
    expect(first.code).toBe(0);
    expect(outcomes(first.stdout)).toEqual({ created: 1000 });
    const firstBytes = upstream;
    expect(firstBytes).toBeGreaterThan(1000 * 900);

    upstream = 0;
    const second = await ferry(["send", "--json", folder]);
    expect(second.code).toBe(0);
    expect(outcomes(second.stdout)).toEqual({ unchanged: 1000 });
    // HELLO and one LIST request: well under one file's bytes, let alone 1,000.
    expect(upstream).toBeLessThan(1024);

    // One file changed in between: it alone is sent, and with --on-conflict overwrite replaces the old one.
    await writeFile(path.join(folder, "f0.dat"), "changed");
    upstream = 0;
    const third = await ferry(["send", "--json", "--on-conflict", "overwrite", folder]);
    expect(third.code).toBe(0);
    expect(outcomes(third.stdout)).toEqual({ unchanged: 999, overwritten: 1 });
    expect(upstream).toBeLessThan(4096);
  });

  it("gets a folder twice: the second run reports every file unchanged and takes no file bytes", async () => {
    const folder = path.join(src, "docs");
    await mkdir(folder);
    for (let i = 0; i < 50; i++) await writeFile(path.join(folder, `d${i}.txt`), `doc ${i}\n`.repeat(500));
    expect((await ferry(["send", folder])).code).toBe(0);
    const out = path.join(src, "out");
    const first = await ferry(["get", "--json", "docs", "-o", out]);
    expect(first.code).toBe(0);
    expect(outcomes(first.stdout)).toEqual({ created: 50 });
    downstream = 0;
    const second = await ferry(["get", "--json", "docs", "-o", out]);
    expect(second.code).toBe(0);
    expect(outcomes(second.stdout)).toEqual({ unchanged: 50 });
    expect(downstream).toBeLessThan(50 * 4000); // the listing only, never the files' 50 × 4,500 bytes
  });
});
