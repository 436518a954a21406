// The share pages in a real browser: Debian's Chromium driven by playwright-core (nothing is
// downloaded). Skipped, with the reason, where no Chromium is installed; .ci/run installs it.
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageRoot, type Storage } from "@ferry/server-core";
import { tempDir, waitFor } from "@ferry/server-core/testing";
import { gateResumableWrites, type Gate } from "./gated-storage.test-helper.js";
import { makeLink, startSharing, type Sharing } from "./testing.js";

const CHROMIUM = process.env["FERRY_CHROMIUM"] ?? "/usr/bin/chromium";
const MiB = 1024 * 1024;
const skipped =
  process.env["FERRY_SKIP_BROWSER"] === "1" ? "FERRY_SKIP_BROWSER=1 (.ci/run's loaded run: they ran in its quiet run)"
  : existsSync(CHROMIUM) ? null
  : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set FERRY_CHROMIUM)`;
if (skipped) console.log(`skipped: browser tests: ${skipped}`);

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Stores `bytes` as a Ferry upload would (so the SHA-256 is recorded and shown). */
async function store(storage: Storage, name: string, bytes: Buffer): Promise<string> {
  const file = await storage.createIncoming(bytes.length);
  for (let at = 0; at < bytes.length; at += MiB) if (!file.write(bytes.subarray(at, at + MiB))) await file.drained();
  const digest = await file.finish(false);
  await storage.publish(file, name, "rename", { size: bytes.length, digest: { algorithm: "sha256", hex: digest } });
  return digest;
}

describe.skipIf(skipped !== null)("share pages in headless Chromium", () => {
  let browser: Browser;
  let server: Sharing;
  let gate: Gate;
  let work: { dir: string; cleanup: () => Promise<void> };
  // Screenshots: to FERRY_SCREENSHOT_DIR when set (docs/images, by `pnpm --filter @ferry/share-web screenshots`), else a temp dir.
  let shots: string;

  beforeAll(async () => {
    work = await tempDir("ferry-browser-");
    shots = process.env["FERRY_SCREENSHOT_DIR"] ?? path.join(work.dir, "shots");
    await mkdir(shots, { recursive: true });
    // Uploads are held after 12 MiB (inside their second 8 MiB chunk) until the test lets them go.
    server = await startSharing({}, {}, {
      storage: async (config) => {
        const gated = gateResumableWrites(await StorageRoot.open(config.dir, { fsync: false }), 12 * MiB);
        gate = gated.gate;
        return gated.storage;
      },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.cleanup();
    await work?.cleanup();
  });

  it("opens a download link, shows the files with their full SHA-256, and downloads 50 MiB byte-identical", async () => {
    const storage = server.server.spaceForLink(null, "read")!.storage;
    const big = randomBytes(50 * MiB);
    const digest = await store(storage, "holiday/video.mp4", big);
    await store(storage, "holiday/notes.txt", Buffer.from("packing list\n"));
    await store(storage, "holiday/photos/beach.jpg", randomBytes(300_000));
    const link = await makeLink(server.server, { paths: ["holiday/"], maxDownloads: 10 });
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 640 } });
    const page = await context.newPage();
    await page.goto(`${server.http.url}${link.path}/`);
    expect(await page.title()).toBe("Shared files");
    const row = page.locator("tr", { hasText: "video.mp4" });
    expect(await row.locator("code.sha").textContent()).toBe(digest);
    await page.screenshot({ path: path.join(shots, "share-download.png") });
    const [download] = await Promise.all([page.waitForEvent("download"), row.getByRole("link", { name: "Download video.mp4" }).click()]);
    expect(download.suggestedFilename()).toBe("video.mp4");
    const saved = await download.path();
    expect(sha256(await readFile(saved))).toBe(digest);
    await context.close();
  });

  it("takes two dropped files, survives the page closing mid-upload, and finishes them when it is opened again", async () => {
    const files = { "a.bin": randomBytes(20 * MiB + 123), "b.bin": randomBytes(18 * MiB + 7) };
    const paths: string[] = [];
    for (const [name, bytes] of Object.entries(files)) {
      const local = path.join(work.dir, name);
      await writeFile(local, bytes);
      paths.push(local);
    }
    const link = await makeLink(server.server, { kind: "upload", paths: ["inbox/"], maxFiles: 10 });
    const uploaded: { name: string; resumedFrom: number; sha256: string }[] = [];
    server.server.on("share-uploaded", (event) => uploaded.push(event));
    // One context: tus-js-client keeps each upload's URL in this origin's localStorage.
    const context = await browser.newContext({ viewport: { width: 1100, height: 560 } });
    const first = await context.newPage();
    await first.goto(`${server.http.url}${link.path}/`);
    await first.setInputFiles("#files", paths);
    // Both uploads are past their first 8 MiB chunk and held inside their second.
    await gate.held(2);
    await first.locator("li[data-accepted]").nth(1).waitFor();
    await first.screenshot({ path: path.join(shots, "share-upload.png") });
    const storage = server.server.spaceForLink(null, "write")!.storage;
    await first.close();
    gate.release();
    // The server sees both requests end and keeps what they brought; nothing is published yet.
    await waitFor(async () => (await server.server.stats()).resumableInProgress === 0);
    await expect(storage.list("inbox")).rejects.toMatchObject({ code: "NOT_FOUND" });

    const again = await context.newPage();
    await again.goto(`${server.http.url}${link.path}/`);
    await again.setInputFiles("#files", paths);
    await again.locator('li[data-state="done"]').nth(1).waitFor({ timeout: 120_000 });
    expect(await again.locator("li[data-resumed=true]").count()).toBe(2);
    expect(await again.locator("li", { hasText: "a.bin" }).locator(".status").textContent()).toContain(sha256(files["a.bin"]));
    await context.close();

    const listed = await storage.list("inbox");
    expect(listed.map((entry) => [entry.name, entry.sha256])).toEqual([
      ["inbox/a.bin", sha256(files["a.bin"])],
      ["inbox/b.bin", sha256(files["b.bin"])],
    ]);
    for (const [name, bytes] of Object.entries(files)) {
      expect(sha256(await readFile(path.join(server.dir, "inbox", name)))).toBe(sha256(bytes));
    }
    // Each continued from the whole chunks it held when the page closed (the held request's body
    // may have reached the server whole before the tab went), not from zero.
    expect(uploaded).toHaveLength(2);
    for (const event of uploaded) {
      const size = files[path.posix.basename(event.name) as keyof typeof files].length;
      expect(event.resumedFrom).toBeGreaterThanOrEqual(8 * MiB);
      expect(event.resumedFrom % (8 * MiB)).toBe(0);
      expect(event.resumedFrom).toBeLessThan(size);
    }
  });
});
