import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FerryServer, hashToken, newToken } from "@ferry/server-core";
import { TEST_CERT, TEST_KEY } from "@ferry/server-core/testing";

const BIN = fileURLToPath(new URL("../dist/ferry.mjs", import.meta.url));
// TEST_CERT's fingerprint, from `openssl x509 -noout -fingerprint -sha256`, in base64.
const FINGERPRINT = "SHA256:p7XpDMwvjHBklau9JsBNNtsg02xgE1kFcsYA9CiAj8Y";
const OTHER = `SHA256:${Buffer.alloc(32, 9).toString("base64").replace(/=+$/, "")}`;

const writerToken = newToken();
const readerToken = newToken();
let work: string;
let store: string;
let knownHosts: string;
let server: FerryServer;
let port: number;
let authenticated: string[];

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "ferry-cli-sec-"));
  store = path.join(work, "store");
  knownHosts = path.join(work, "config", "known_hosts");
  await writeFile(path.join(work, "cert.pem"), TEST_CERT);
  await writeFile(path.join(work, "key.pem"), TEST_KEY, { mode: 0o600 });
  await writeFile(path.join(work, "hello.txt"), "hello over TLS\n");
  server = new FerryServer({
    port: 0,
    dir: store,
    fsync: false,
    authFailureDelayMs: 0,
    tls: { cert: path.join(work, "cert.pem"), key: path.join(work, "key.pem") },
    users: [
      { name: "writer", tokenSha256: hashToken(writerToken), permissions: ["read", "write"] },
      { name: "reader", tokenSha256: hashToken(readerToken), permissions: ["read"] },
    ],
  });
  authenticated = [];
  server.on("authenticated", (e) => authenticated.push(e.user));
  ({ port } = await server.start());
});

afterEach(async () => {
  await server.stop({ graceMs: 500 });
  await rm(work, { recursive: true, force: true });
});

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built `ferry`, with no terminal, its config home and known_hosts inside the test's temp dir. */
function ferry(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const child = spawn(process.execPath, [BIN, "-p", String(port), ...args], {
    env: {
      ...process.env,
      NO_COLOR: "1",
      XDG_CONFIG_HOME: path.join(work, "config-home"),
      FERRY_KNOWN_HOSTS: knownHosts,
      FERRY_TOKEN: "",
      ...env,
    },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdin.end();
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

const send = (extra: string[], env: NodeJS.ProcessEnv = {}) => ferry(["send", "--json", ...extra, path.join(work, "hello.txt")], env);

describe("ferry over TLS, SSH-style trust", () => {
  it("refuses an unknown self-signed server without a terminal, shows its fingerprint, sends nothing", async () => {
    const result = await send(["--tls"], { FERRY_TOKEN: writerToken });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(FINGERPRINT);
    expect(result.stderr).toMatch(/--fingerprint/);
    expect(authenticated).toEqual([]);
    await expect(stat(knownHosts)).rejects.toThrow();
  });

  it("remembers it with --accept-new, pins it next time, and refuses loudly once it changes", async () => {
    const first = await send(["--tls", "--accept-new"], { FERRY_TOKEN: writerToken });
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`remembered 127.0.0.1:${port} ${FINGERPRINT}`);
    expect(await readFile(knownHosts, "utf8")).toBe(`127.0.0.1:${port} ${FINGERPRINT}\n`);
    expect(await readFile(path.join(store, "hello.txt"), "utf8")).toBe("hello over TLS\n");

    const second = await ferry(["ls", "--tls", "--json"], { FERRY_TOKEN: writerToken });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("hello.txt");

    await writeFile(knownHosts, `127.0.0.1:${port} ${OTHER}\n`);
    const changed = await ferry(["ls", "--tls", "--accept-new"], { FERRY_TOKEN: writerToken });
    expect(changed.code).toBe(3);
    expect(changed.stderr).toContain("HAS CHANGED");
    expect(changed.stderr).toContain(FINGERPRINT);
    expect(authenticated).toEqual(["writer", "writer"]); // the third connection sent no token
  });

  it("trusts --fingerprint or --ca as given, without touching known_hosts", async () => {
    expect((await send(["--fingerprint", FINGERPRINT], { FERRY_TOKEN: writerToken })).code).toBe(0);
    expect((await ferry(["ls", "--ca", path.join(work, "cert.pem")], { FERRY_TOKEN: writerToken })).code).toBe(0);
    const wrong = await ferry(["ls", "--fingerprint", OTHER], { FERRY_TOKEN: writerToken });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain("TLS_FINGERPRINT_MISMATCH");
    await expect(stat(knownHosts)).rejects.toThrow();
  });
});

describe("ferry with tokens", () => {
  it("takes the token from FERRY_TOKEN, --token or the config file, and never prints it", async () => {
    const viaEnv = await send(["--fingerprint", FINGERPRINT], { FERRY_TOKEN: writerToken });
    const viaFlag = await send(["--fingerprint", FINGERPRINT, "--token", writerToken]);
    const config = path.join(work, "ferry.json");
    await writeFile(config, JSON.stringify({ token: writerToken, fingerprint: FINGERPRINT }), { mode: 0o600 });
    const viaFile = await ferry(["ls", "--config", config]);
    for (const result of [viaEnv, viaFlag, viaFile]) {
      expect(result.code).toBe(0);
      expect(result.stdout + result.stderr).not.toContain(writerToken);
    }
    expect(authenticated).toEqual(["writer", "writer", "writer"]);
  });

  it("warns when the config file holding a token is readable by others", async () => {
    const config = path.join(work, "ferry.json");
    await writeFile(config, JSON.stringify({ token: writerToken, fingerprint: FINGERPRINT }), { mode: 0o644 });
    const result = await ferry(["ls", "--config", config]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/chmod 600/);
  });

  it("exits 3 with AUTH_REQUIRED or AUTH_FAILED, naming the fix but not the token", async () => {
    const missing = await ferry(["ls", "--fingerprint", FINGERPRINT]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain("AUTH_REQUIRED");
    expect(missing.stderr).toContain("FERRY_TOKEN");
    const wrong = await ferry(["ls", "--fingerprint", FINGERPRINT], { FERRY_TOKEN: "not-the-token-at-all" });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain("AUTH_FAILED");
    expect(wrong.stderr).not.toContain("not-the-token-at-all");
  });

  it("reports FORBIDDEN per file and exits 1 for a user without the permission", async () => {
    const result = await send(["--fingerprint", FINGERPRINT], { FERRY_TOKEN: readerToken });
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toContain("FORBIDDEN");
    await expect(stat(path.join(store, "hello.txt"))).rejects.toThrow();
  });
});
