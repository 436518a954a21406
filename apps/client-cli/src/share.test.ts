// `ferry share`: links made, listed and revoked through a real server (issue 16). The server's
// sharing is turned on without its HTTP side (server-core's enableSharing): what the CLI prints
// and exits with is what is tested here; the pages are share-web's tests.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FerryServer, hashToken, shareKey } from "@ferry/server-core";
import { cliEvents, runFerry } from "./testing/run-ferry.js";

const TOKEN = "share-test-token-0123456789";
let store: string;
let server: FerryServer;
let port: number;

beforeEach(async () => {
  store = await mkdtemp(path.join(tmpdir(), "ferry-share-store-"));
  await mkdir(path.join(store, "docs"));
  await writeFile(path.join(store, "docs", "a.txt"), "a");
  await writeFile(path.join(store, "report.pdf"), "pdf");
  server = new FerryServer({ port: 0, dir: store, fsync: false, users: [{ name: "ann", tokenSha256: hashToken(TOKEN), permissions: ["read", "write"] }] });
  port = (await server.start()).port;
});

afterEach(async () => {
  await server.stop({ graceMs: 500 });
  await rm(store, { recursive: true, force: true });
});

function ferry(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) {
  return runFerry(["-p", String(port), ...args], { stdin: options.stdin, env: { FERRY_TOKEN: TOKEN, ...options.env } });
}
const events = cliEvents;

const enable = () => server.enableSharing((local) => `https://${local}:8443`);

describe("ferry share", () => {
  it("prints the URL alone on stdout and what it reaches on stderr; the server keeps only the secret's hash", async () => {
    await enable();
    const made = await ferry(["share", "report.pdf", "docs/", "--expires", "2h", "--max-downloads", "3"]);
    expect(made.code).toBe(0);
    const url = made.stdout.trim();
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:8443\/s\/[A-Za-z0-9_-]{32}$/);
    expect(made.stderr).toMatch(/^download link [0-9a-f]{12}: report\.pdf, docs\/; expires .*, 3 downloads$/m);
    const record = await server.shares!.get(shareKey(url.split("/s/")[1]!));
    expect(record).toMatchObject({ owner: "ann", paths: ["report.pdf", "docs/"], maxDownloads: 3 });
    expect(record!.expiresAt - record!.createdAt).toBe(2 * 3600 * 1000);
  });

  it("--json: the link event carries the URL; --list shows it with its state; --revoke by URL ends it", async () => {
    await enable();
    const made = events((await ferry(["--json", "share", "--upload", "inbox", "--max-files", "5", "--max-size", "1G"])).stdout);
    const link = made.find((event) => event.type === "link");
    expect(link).toMatchObject({ action: "created", kind: "upload", paths: ["inbox/"], maxFiles: 5, maxBytes: 1024 ** 3, password: false });
    expect(made.at(-1)).toMatchObject({ type: "summary", exitCode: 0 });
    const listed = events((await ferry(["--json", "share", "--list"])).stdout).filter((event) => event.type === "link");
    expect(listed).toEqual([expect.objectContaining({ action: "listed", state: "live", fingerprint: link!.type === "link" ? link!.fingerprint : "" })]);
    expect(JSON.stringify(listed)).not.toContain("/s/");
    const revoked = await ferry(["share", "--revoke", link!.type === "link" ? link!.url! : ""]);
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked link ${link!.type === "link" ? link!.fingerprint : ""}\n` });
    const again = await ferry(["share", "--revoke", link!.type === "link" ? link!.fingerprint : ""]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/NOT_FOUND/);
  });

  it("--password reads FERRY_SHARE_PASSWORD or a line of stdin, and sends it only to be hashed", async () => {
    await enable();
    const fromStdin = await ferry(["share", "report.pdf", "--password"], { stdin: "s3cret\n" });
    expect(fromStdin.code).toBe(0);
    const record = await server.shares!.get(shareKey(fromStdin.stdout.trim().split("/s/")[1]!));
    expect(record?.password).toMatch(/^scrypt\$/);
    const fromEnv = await ferry(["--json", "share", "report.pdf", "--password"], { env: { FERRY_SHARE_PASSWORD: "other" } });
    expect(events(fromEnv.stdout).find((event) => event.type === "link")).toMatchObject({ password: true });
  });

  it("refuses bad usage with exit 2 and a missing path with exit 1, one line each", async () => {
    await enable();
    for (const args of [["share"], ["share", "a", "--list"], ["share", "a", "--expires", "soon"], ["share", "a", "--expires", "400d"], ["share", "a", "--max-files", "3"], ["share", "--upload", "x", "--max-downloads", "2"]]) {
      const result = await ferry(args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
    }
    const missing = await ferry(["share", "nothing.txt"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe("ferry: NOT_FOUND: nothing.txt is neither a stored file nor a folder");
  });

  it("tells how to turn links on when the server has no HTTP listener", async () => {
    const result = await ferry(["share", "report.pdf"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("ferry-server --http");
    expect(result.stdout).toBe("");
  });
});
