// `curl -C -` against a share link: an interrupted 200 MiB download continues where the partial
// file ends, and the result has the SHA-256 the page shows.
import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageRoot } from "@ferry/server-core";
import { tempDir } from "@ferry/server-core/testing";
import { gateResumableWrites, type Gate } from "./gated-storage.test-helper.js";
import { makeLink, startSharing, type Sharing } from "./testing.js";

const MiB = 1024 * 1024;
let curlMissing: string | null = null;
try {
  execFileSync("curl", ["--version"], { stdio: "ignore" });
} catch {
  curlMissing = "no curl on PATH (apt-get install curl)";
  console.log(`skipped: curl resume test: ${curlMissing}`);
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

describe.skipIf(curlMissing !== null)("curl -C - on a share link", () => {
  let server: Sharing;
  let gate: Gate;
  let work: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    work = await tempDir("ferry-curl-");
    // Reads past 64 MiB wait until the test has killed the first curl: the cut is made, not timed.
    server = await startSharing({}, {}, {
      storage: async (config) => {
        const gated = gateResumableWrites(await StorageRoot.open(config.dir, { fsync: false }), Infinity, 64 * MiB);
        gate = gated.gate;
        return gated.storage;
      },
    });
  });
  afterAll(async () => {
    await server?.cleanup();
    await work?.cleanup();
  });

  it("resumes an interrupted 200 MiB download; the file matches its SHA-256 and only the rest was sent", async () => {
    const storage = server.server.spaceForLink(null, "read")!.storage;
    const size = 200 * MiB;
    const file = await storage.createIncoming(size);
    const chunk = randomBytes(MiB);
    for (let at = 0; at < size; at += MiB) {
      // Every MiB differs (its index written in), so a misplaced range would show in the digest.
      chunk.writeUInt32BE(at / MiB, 0);
      if (!file.write(Buffer.from(chunk))) await file.drained();
    }
    const digest = await file.finish(false);
    await storage.publish(file, "big.iso", "rename", { size, digest: { algorithm: "sha256", hex: digest } });
    const link = await makeLink(server.server, { paths: ["big.iso"], maxDownloads: 1 });
    const url = `${server.http.url}${link.path}/f/big.iso`;
    const out = path.join(work.dir, "big.iso");
    const downloads: { from: number; bytes: number; complete: boolean }[] = [];
    server.server.on("share-downloaded", (event) => downloads.push(event));

    const first = spawn("curl", ["-sS", "-o", out, url], { stdio: "ignore" });
    const firstExit = new Promise((resolve) => first.once("exit", resolve));
    await gate.held(1);
    first.kill("SIGKILL");
    await firstExit;
    gate.release();
    const partial = (await stat(out)).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(size);

    // The link allowed one download; finishing it is not a second one.
    // Asynchronously: the server runs in this process.
    await promisify(execFile)("curl", ["-sS", "--fail", "-C", "-", "-o", out, url]);
    expect((await stat(out)).size).toBe(size);
    expect(await sha256File(out)).toBe(digest);
    const resumed = downloads.find((event) => event.from > 0);
    expect(resumed).toMatchObject({ from: partial, bytes: size - partial, complete: true });
    expect(await server.server.shares!.get(link.key)).toMatchObject({ downloads: 1 });
  });
});
