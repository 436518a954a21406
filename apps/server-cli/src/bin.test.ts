import { createHash, randomBytes } from "node:crypto";
import { readFile, readdir, stat, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FerryClient } from "@ferry/client-core";
import { BIN, onCleanup, runCleanups, startServer, run, tempDir, waitFor } from "./testing/server-process.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

afterEach(runCleanups);

describe("ferry-server binary", () => {
  it("runs as a command of its own", async () => {
    // No V8 flags in the first line: docs/performance.md, "Young generation", says why.
    expect((await readFile(BIN, "utf8")).split("\n", 1)[0]).toBe("#!/usr/bin/env node");
    const { stdout } = await promisify(execFile)(BIN, ["--version"]);
    expect(stdout.trim()).toBe("0.1.0");
  });

  it("serves uploads, logs the lab's lines with numbers, and stops cleanly on SIGTERM", async () => {
    const dir = await tempDir();
    const server = await startServer(["--port", "0", "--dir", dir, "--no-fsync"]);
    const client = await FerryClient.connect({ port: server.port });
    const src = path.join(await tempDir(), "note.txt");
    await writeFile(src, "ferry me");
    await client.upload(src);
    await client.close();
    // A raw client, like the lab's, too.
    const raw = net.connect({ host: "127.0.0.1", port: server.port });
    raw.end("raw bytes");
    raw.resume();
    await new Promise((r) => raw.on("close", r));
    await waitFor(() => server.output().includes("output0.txt"));
    const out = server.output();
    expect(out).toContain("Connected with client 1");
    expect(out).toContain("Receiving file from client 1: note.txt");
    expect(out).toMatch(/Received successfully from client 1! New filename is: note\.txt — 8 B in .* sha256 [0-9a-f]{64}/);
    expect(out).toContain("Received successfully from client 2! New filename is: output0.txt");
    expect(await readFile(path.join(dir, "note.txt"), "utf8")).toBe("ferry me");
    expect(await readFile(path.join(dir, "output0.txt"), "utf8")).toBe("raw bytes");
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });

  it("takes settings from FERRY_* env and from a JSON config file, flags winning", async () => {
    const dir = await tempDir();
    const configFile = path.join(dir, "ferry.json");
    await writeFile(configFile, JSON.stringify({ port: 1, maxClients: 1, dir: path.join(dir, "from-file") }));
    const server = await startServer(["--config", configFile, "--port", "0"], { FERRY_DIR: path.join(dir, "from-env") });
    expect(server.output()).toContain("max 1 clients");
    expect(server.output()).toContain(path.join(dir, "from-env"));
    expect(await readdir(dir)).toContain("from-env");
  });

  it("--log json: a whole run (start, warning, upload, shutdown) is JSON line by line, on pino", async () => {
    const server = await startServer(["--port", "0", "--dir", await tempDir(), "--log", "json"]);
    const client = await FerryClient.connect({ port: server.port });
    await client.uploadStream([Buffer.from("logged")], { name: "logged.txt", size: 6 });
    await client.close();
    // A client that negotiated BLAKE3: its upload's line carries "blake3" where others carry "sha256".
    const fast = await FerryClient.connect({ port: server.port, digest: "blake3" });
    const fastStored = await fast.uploadStream([Buffer.from("logged")], { name: "fast.txt", size: 6 });
    await fast.close();
    await waitFor(() => server.output().split('"event":"connection-closed"').length === 3);
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    const lines = server.output().trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const line of lines) {
      expect(line).toMatchObject({ level: expect.any(String), time: expect.any(String), pid: expect.any(Number), msg: expect.any(String) });
    }
    // Workers (one per core by default) log their connections under their own pid; the server's own lines are the primary's.
    expect(lines[0]).toMatchObject({ level: "info", event: "listening", pid: server.child.pid, msg: expect.stringContaining("listening on"), host: "127.0.0.1", port: server.port });
    expect(lines).toContainEqual(expect.objectContaining({ level: "warn", warning: "open" }));
    // One child logger per connection: its lines carry conn and remote, once each.
    expect(lines).toContainEqual(expect.objectContaining({ event: "upload-stored", conn: 1, name: "logged.txt", sha256: createHash("sha256").update("logged").digest("hex"), msg: expect.stringContaining("Received successfully from client 1") }));
    const fastLine = lines.find((line) => line.event === "upload-stored" && line.name === "fast.txt");
    expect(fastLine).toMatchObject({ blake3: fastStored.digest.hex, msg: expect.stringContaining(`blake3 ${fastStored.digest.hex}`) });
    expect(fastLine).not.toHaveProperty("sha256");
    expect(lines.at(-1)).toMatchObject({ msg: "stopped", signal: "SIGTERM", pid: server.child.pid });
  });

  it("--log json: a fatal start-up error is a JSON line too (level fatal, its code and exit code)", async () => {
    const result = await run(["--port", "0", "--dir", "/proc/ferry-nope", "--log", "json"]);
    expect(result.code).toBe(3);
    const [line] = result.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(line).toMatchObject({ level: "fatal", code: "STORAGE_UNUSABLE", exitCode: 3, msg: expect.stringContaining("unusable") });
  });

  it("a server killed mid-upload (SIGKILL) and restarted lets the upload resume", async () => {
    const dir = await tempDir();
    const src = path.join(await tempDir(), "big.bin");
    await writeFile(src, randomBytes(64 * 1024 * 1024));
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const fixedPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));

    const first = await startServer(["--port", String(fixedPort), "--dir", dir]);
    const client = await FerryClient.connect({ port: first.port });
    let killed = false;
    const error = await client
      .upload(src, {
        onProgress: (p) => {
          if (!killed && p.bytes >= 40 * 1024 * 1024) {
            killed = true;
            first.child.kill("SIGKILL");
          }
        },
      })
      .catch((e: unknown) => e);
    expect((error as { code: string }).code).toMatch(/CONNECTION_CLOSED|CONNECT_FAILED/);
    await first.exited;
    expect((await readdir(dir)).some((n) => n.startsWith(".ferry-part-"))).toBe(true);

    const second = await startServer(["--port", String(fixedPort), "--dir", dir]);
    const again = await FerryClient.connect({ port: second.port });
    const result = await again.upload(src);
    await again.close();
    expect(result.resumedFrom).toBeGreaterThan(0);
    // Buffer.equals: a deep toEqual over 64 Mi elements would take minutes.
    expect((await readFile(path.join(dir, "big.bin"))).equals(await readFile(src))).toBe(true);
  });

  it.each([
    [["--port", "99999"], 2, "port"],
    [["--port", "abc"], 2, "whole number"],
    [["--max-clients", "0"], 2, "maxClients"],
    [["--config", "/nonexistent/ferry.json"], 2, "cannot read config file"],
  ])("rejects %j with exit %i and a readable message", async (args, code, text) => {
    const result = await run([...args, "--dir", await tempDir()]);
    expect(result.code).toBe(code);
    expect(result.stderr).toContain(text);
  });

  it.each([
    [["--bogus"], "unknown option '--bogus'", "ferry-server --help"],
    [["--log", "xml"], "argument 'xml' is invalid", "ferry-server --help"],
    [["--tls", "manual"], "argument 'manual' is invalid", "ferry-server --help"],
    [["token"], "missing required argument 'name'", "ferry-server token --help"],
    [["token", "x", "--quota", "abc"], "--quota must be a whole number of bytes", undefined],
    [["token", "x", "--permissions", "root"], "permissions", undefined],
  ])("usage error %j: exit 2, at most two lines", async (args, text, help) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split("\n");
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(lines[0]).toContain(text);
    if (help) expect(lines[1]).toBe(`see '${help}'`);
  });

  it("help CMD shows that command's help (exit 0)", async () => {
    const result = await run(["help", "token"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: ferry-server token");
  });

  it("exits 3 at once for a storage dir that cannot be created (Node's recursive mkdir spins forever under /proc)", async () => {
    const result = await run(["--port", "0", "--dir", "/proc/ferry-nope"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("unusable");
  });

  it("exits 4 when the port is taken", async () => {
    const dir = await tempDir();
    const first = await startServer(["--port", "0", "--dir", dir]);
    const result = await run(["--port", String(first.port), "--dir", dir]);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain("cannot listen");
  });

  it("exits 3 when the storage dir is unusable", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "a-file");
    await writeFile(file, "x");
    const result = await run(["--port", "0", "--dir", path.join(file, "sub")]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("unusable");
  });
});

describe("ferry-server cluster storage flags (docs/scale-out.md)", () => {
  const s3 = process.env["FERRY_TEST_S3_ENDPOINT"];
  const db = process.env["FERRY_TEST_DB"];
  const creds = { AWS_ACCESS_KEY_ID: "test:tester", AWS_SECRET_ACCESS_KEY: "testing", AWS_REGION: "us-east-1" };

  it("exits 2 when only one of --s3-* and --db is given", async () => {
    const result = await run(["--port", "0", "--db", "postgres://ferry@127.0.0.1:1/x"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("go together");
  });

  it("exits 3 with one line when the object store is unreachable", async () => {
    const result = await run(["--port", "0", "--s3-endpoint", "http://127.0.0.1:1", "--s3-bucket", "ferry", "--db", "postgres://ferry@127.0.0.1:1/x"], creds);
    expect(result.code).toBe(3);
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^ferry-server: object store .* is unusable: the object store is unreachable \(ECONNREFUSED\)$/)]);
  });

  it.runIf(s3 && db)("exits 3 with one line naming the database when it is unreachable, its password hidden", async () => {
    const result = await run(["--port", "0", "--s3-endpoint", s3!, "--s3-bucket", "ferry-flags", "--db", "postgres://ferry:secret@127.0.0.1:1/x"], creds);
    expect(result.code).toBe(3);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/database postgres:\/\/ferry:\*\*\*@127\.0\.0\.1:1\/x is unusable: the database is unreachable/);
    expect(result.stderr).not.toContain("secret");
  });

  it.runIf(s3 && db)("exits 3 with one line naming the access key when the object store refuses the credentials", async () => {
    const result = await run(["--port", "0", "--s3-endpoint", s3!, "--s3-bucket", "ferry-flags", "--db", db!], { ...creds, AWS_SECRET_ACCESS_KEY: "wrong-secret" });
    expect(result.code).toBe(3);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('access key "test:tester"');
    expect(lines[0]).toContain("AWS_SECRET_ACCESS_KEY");
    expect(result.stderr).not.toContain("wrong-secret");
  });
});

describe("ferry-server security", () => {
  it("warns loudly at start-up when no users are configured", async () => {
    const server = await startServer(["--port", "0", "--dir", await tempDir()]);
    await waitFor(() => server.output().includes("WARNING"));
    expect(server.output()).toMatch(/WARNING: no users are configured, so this server is OPEN/);
  });

  it("refuses a non-loopback address while open unless --allow-anonymous (exit 2)", async () => {
    // Refused before binding, so the test never listens beyond loopback.
    const result = await run(["--host", "0.0.0.0", "--port", "0", "--dir", await tempDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--allow-anonymous/);
  });

  it("`token NAME` prints a token once and the user entry; the server then requires it", async () => {
    const made = await run(["token", "alice", "--permissions", "read,write", "--user-dir", "alice", "--quota", "1000000"]);
    expect(made.code).toBe(0);
    const token = /^ {2}(\S{43})$/m.exec(made.stdout)?.[1];
    expect(token).toBeDefined();
    const entry = JSON.parse(made.stdout.slice(made.stdout.indexOf("{"))) as Record<string, unknown>;
    expect(entry).toMatchObject({ name: "alice", permissions: ["read", "write"], dir: "alice", quotaBytes: 1000000 });
    expect(entry.tokenSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(entry)).not.toContain(token!);

    const dir = await tempDir();
    const configFile = path.join(dir, "ferry.json");
    await writeFile(configFile, JSON.stringify({ dir: path.join(dir, "store"), users: [entry] }));
    const server = await startServer(["--config", configFile, "--port", "0"]);
    expect(server.output()).toContain("raw uploads off, 1 user");
    expect(server.output()).not.toContain("OPEN");
    const client = await FerryClient.connect({ port: server.port, token: token! });
    expect(client.server.user).toEqual({ name: "alice", permissions: ["read", "write"] });
    await client.uploadStream([Buffer.from("mine")], { name: "a.txt", size: 4 });
    await client.close();
    expect(await readFile(path.join(dir, "store", "alice", "a.txt"), "utf8")).toBe("mine");
    expect(server.output()).not.toContain(token!);
    const refused = await FerryClient.connect({ port: server.port }).catch((e: { code: string }) => e.code);
    expect(refused).toBe("AUTH_REQUIRED");
  });

  it("--tls auto makes a certificate once, prints its fingerprint, and keeps it across restarts", async () => {
    const state = path.join(await tempDir(), "state");
    const dir = await tempDir();
    const first = await startServer(["--port", "0", "--dir", dir, "--tls", "auto", "--state-dir", state]);
    const fingerprint = /TLS (SHA256:\S{43})/.exec(first.output())?.[1];
    expect(fingerprint).toBeDefined();
    expect(first.output()).toContain(`made a self-signed TLS certificate in ${state}`);
    const client = await FerryClient.connect({ port: first.port, tls: { fingerprint: fingerprint! } });
    expect(await client.list()).toEqual([]);
    await client.close();
    const untrusted = await FerryClient.connect({ port: first.port, tls: {} }).catch((e: { code: string }) => e.code);
    expect(untrusted).toBe("TLS_UNTRUSTED");
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(((await stat(path.join(state, "tls-key.pem"))).mode & 0o077)).toBe(0);

    const second = await startServer(["--port", "0", "--dir", dir, "--tls", "auto", "--state-dir", state]);
    expect(second.output()).toContain(`TLS ${fingerprint}`);
    expect(second.output()).not.toContain("made a self-signed");
  });
});

describe("ferry-server operator kit (docs/operations.md)", () => {
  const user = (name: string, token: string) => ({
    name,
    tokenSha256: createHash("sha256").update(token).digest("hex"),
    permissions: ["read", "write", "delete"],
  });

  it("SIGHUP during a 200 MiB upload: the upload completes, an added token works, a removed one is refused, a broken config changes nothing", async () => {
    const dir = await tempDir();
    const config = path.join(dir, "server.json");
    await writeFile(config, JSON.stringify({ users: [user("old", "old-token-0123456789")], authFailureDelayMs: 0 }));
    const server = await startServer(["--port", "0", "--dir", path.join(dir, "store"), "--config", config]);
    const size = 200 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const reloadedLines = (): number => server.output().split("configuration reloaded").length - 1;
    async function* body(): AsyncGenerator<Buffer> {
      for (let sent = 0; sent < size; sent += chunk.length) {
        if (sent === size / 2) {
          // Half-way: swap the users and reload; the second half goes only once the reload is done.
          await writeFile(config, JSON.stringify({ users: [user("new", "new-token-0123456789")], authFailureDelayMs: 0 }));
          server.child.kill("SIGHUP");
          await waitFor(() => reloadedLines() === 1);
        }
        yield chunk;
      }
    }
    const client = await FerryClient.connect({ port: server.port, token: "old-token-0123456789" });
    const stored = await client.uploadStream(body(), { name: "big.bin", size });
    expect(stored.size).toBe(size);
    expect((await stat(path.join(dir, "store", "big.bin"))).size).toBe(size);
    await client.close().catch(() => undefined);
    const refused = await FerryClient.connect({ port: server.port, token: "old-token-0123456789" }).then(
      () => "connected",
      (e: { code: string }) => e.code,
    );
    expect(refused).toBe("AUTH_FAILED");
    const fresh = await FerryClient.connect({ port: server.port, token: "new-token-0123456789" });
    expect((await fresh.list()).map((e) => e.name)).toEqual(["big.bin"]);
    await fresh.close();

    await writeFile(config, "{ not json");
    server.child.kill("SIGHUP");
    await waitFor(() => server.output().includes("reload refused"));
    expect(server.output()).toMatch(/SIGHUP: reload refused, the running configuration stays: config file .* is not valid JSON/);
    const still = await FerryClient.connect({ port: server.port, token: "new-token-0123456789" });
    await still.close();
    expect(server.child.exitCode).toBeNull();
  });

  it("audit trail: every authenticated action is one JSON log event naming the user, the address, the path and the outcome", async () => {
    const dir = await tempDir();
    const config = path.join(dir, "server.json");
    await writeFile(config, JSON.stringify({ users: [user("alice", "alice-token-0123456789")], authFailureDelayMs: 0 }));
    const server = await startServer(["--port", "0", "--dir", path.join(dir, "store"), "--config", config, "--log", "json"]);
    const client = await FerryClient.connect({ port: server.port, token: "alice-token-0123456789" });
    await client.uploadStream([Buffer.from("hello")], { name: "notes.txt", size: 5 });
    await client.download("notes.txt", { dir });
    await client.list();
    await client.delete("notes.txt");
    await client.close();
    await FerryClient.connect({ port: server.port, token: "wrong-token-0123456789" }).catch(() => undefined);
    await waitFor(() => server.output().includes('"event":"auth-failed"'));
    const lines = server.output().trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    const one = (event: string) => lines.find((line) => line["event"] === event);
    expect(one("authenticated")).toMatchObject({ user: "alice", remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(one("upload-stored")).toMatchObject({ user: "alice", name: "notes.txt", size: 5, outcome: "created", remote: expect.any(String) });
    expect(one("download-sent")).toMatchObject({ user: "alice", name: "notes.txt", size: 5 });
    expect(one("listed")).toMatchObject({ user: "alice", entries: 1 });
    expect(one("deleted")).toMatchObject({ user: "alice", name: "notes.txt", size: 5 });
    expect(one("auth-failed")).toMatchObject({ level: "warn", code: "AUTH_FAILED", remote: expect.any(String) });
    expect(server.output()).not.toContain("alice-token");
  });

  it("--admin PORT binds loopback and serves /metrics, /healthz and /readyz, 404 elsewhere", async () => {
    const dir = await tempDir();
    const server = await startServer(["--port", "0", "--dir", dir, "--admin", "0"]);
    await waitFor(() => /admin on http:\/\/127\.0\.0\.1:\d+/.test(server.output()));
    const port = Number(/admin on http:\/\/127\.0\.0\.1:(\d+)/.exec(server.output())![1]);
    const get = async (p: string) => {
      const response = await fetch(`http://127.0.0.1:${port}${p}`);
      return { status: response.status, body: await response.text() };
    };
    expect((await get("/healthz")).status).toBe(200);
    expect((await get("/readyz")).status).toBe(200);
    const metrics = await get("/metrics");
    expect(metrics.body).toMatch(/^ferry_connections_open 0$/m);
    expect(metrics.body).toMatch(/^process_resident_memory_bytes \d+/m);
    expect((await get("/status")).status).toBe(404);
  });

  it("--http PORT serves share links made with ferry share, logs them without their secret, and answers 404 elsewhere", async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, "notes.txt"), "shared notes");
    const server = await startServer(["--port", "0", "--dir", dir, "--http", "0", "--log", "json"]);
    await waitFor(() => server.output().includes('"event":"http-listening"'));
    const base = (JSON.parse(server.output().split("\n").find((line) => line.includes('"event":"http-listening"'))!) as { url: string }).url;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = await FerryClient.connect({ port: server.port });
    expect(client.server.capabilities).toContain("share");
    const shared = await client.share({ kind: "download", paths: ["notes.txt"], expiresIn: 60 });
    await client.close();
    expect(shared.url.startsWith(`${base}/s/`)).toBe(true);
    const file = await fetch(`${shared.url}/f/notes.txt`);
    expect(await file.text()).toBe("shared notes");
    expect((await fetch(`${base}/`)).status).toBe(404);
    await waitFor(() => server.output().includes('"event":"share-downloaded"'));
    expect(server.output()).toContain(`"fingerprint":"${shared.link.fingerprint}"`);
    expect(server.output()).not.toContain(shared.secret);
  });

  it("--http on a port in use exits 4, and beyond loopback on an open server exits 2, one line each", async () => {
    const dir = await tempDir();
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    onCleanup(() => new Promise<void>((resolve) => busy.close(() => resolve())));
    const taken = (busy.address() as net.AddressInfo).port;
    const inUse = await run(["--port", "0", "--dir", dir, "--http", String(taken)]);
    expect(inUse.code).toBe(4);
    expect(inUse.stderr.trim().split("\n")).toEqual([expect.stringContaining(`cannot listen for share links on 127.0.0.1:${taken}`)]);
    const open = await run(["--port", "0", "--dir", dir, "--http", "0.0.0.0:0"]);
    expect(open.code).toBe(2);
    expect(open.stderr.trim().split("\n")).toEqual([expect.stringContaining("refusing to serve share links on 0.0.0.0")]);
  });

  it("refuses an admin port beyond loopback without TLS (exit 2, one line)", async () => {
    const dir = await tempDir();
    const result = await run(["--port", "0", "--dir", dir, "--admin", "0.0.0.0:0", "--allow-anonymous", "--host", "0.0.0.0"]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringContaining("the admin port on 0.0.0.0 is reachable beyond this machine")]);
  });
});
