import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { FerryServer } from "../ferry-server.js";
import type { ServerConfigInput } from "@ferry/protocol";
import type { ServerEvents } from "../events.js";
import { INDEX_FILE } from "../storage-index.js";

/** A fresh temp dir, removed by the returned cleanup. */
export async function tempDir(prefix = "ferry-test-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes `size` random bytes to `file` in 1 MiB pieces; returns their SHA-256. */
export async function writeRandomFile(file: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  let left = size;
  const source = Readable.from(
    (function* () {
      while (left > 0) {
        const piece = randomBytes(Math.min(left, 1024 * 1024));
        left -= piece.length;
        hash.update(piece);
        yield piece;
      }
    })(),
  );
  await pipeline(source, createWriteStream(file));
  return hash.digest("hex");
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Lists a dir, sorted, temp files included (they must never be left behind); the index log aside. */
export async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name !== INDEX_FILE).sort();
}

type Recorded = { [K in keyof ServerEvents]: ServerEvents[K][0][] };

export type TestServer = Awaited<ReturnType<typeof startTestServer>>;

/** A started server on 127.0.0.1:0 with a temp storage dir and every event recorded. */
export async function startTestServer(config: ServerConfigInput = {}, options: ConstructorParameters<typeof FerryServer>[1] = {}) {
  const storage = await tempDir("ferry-store-");
  const server = new FerryServer({ host: "127.0.0.1", port: 0, dir: storage.dir, fsync: false, ...config }, options);
  const events = {} as Recorded;
  const names: (keyof ServerEvents)[] = [
    "connection",
    "connection-rejected",
    "connection-evicted",
    "connection-closed",
    "connection-error",
    "upload-started",
    "upload-stored",
    "upload-failed",
    "authenticated",
    "request-failed",
    "internal-error",
  ];
  const waiters: { name: keyof ServerEvents; count: number; resolve: () => void }[] = [];
  for (const name of names) {
    events[name] = [];
    server.on(name, ((event: never) => {
      (events[name] as unknown[]).push(event);
      for (const waiter of waiters.filter((w) => w.name === name && events[name].length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }) as never);
  }
  function until(name: keyof ServerEvents, count = 1): Promise<void> {
    if (events[name].length >= count) return Promise.resolve();
    return new Promise((resolve) => waiters.push({ name, count, resolve }));
  }
  const { port } = await server.start();
  return {
    server,
    port,
    dir: storage.dir,
    events,
    /** Resolves once `count` connections have closed on the server side (no clock: see vitest.shared.ts). */
    closedConnections(count: number): Promise<void> {
      return until("connection-closed", count);
    },
    /** Resolves once the server has emitted `name` at least `count` times in all. */
    until,
    async cleanup(): Promise<void> {
      await server.stop({ graceMs: 1_000 });
      await storage.cleanup();
    },
  };
}

/**
 * Resolves once `condition()` holds, checking every few ms. For states no event announces (a
 * descriptor count, a socket's buffer); the test's hang detector is the only ceiling.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, everyMs = 10): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, everyMs));
}
