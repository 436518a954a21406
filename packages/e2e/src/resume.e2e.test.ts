import { open, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClientError, FerryClient, InterruptedUpload } from "@ferry/client-core";
import { sha256File, startTestServer, tempDir, writeRandomFile, type TestServer } from "@ferry/server-core/testing";

const MiB = 1024 * 1024;
let server: TestServer;
let local: Awaited<ReturnType<typeof tempDir>>;
let source: string;

beforeEach(async () => {
  server = await startTestServer({ fsync: true });
  local = await tempDir("ferry-resume-");
  source = path.join(local.dir, "big.bin");
  await writeRandomFile(source, 64 * MiB);
});
afterEach(async () => {
  await server.cleanup();
  await local.cleanup();
});

/** Starts an upload and cuts it (the client hangs up) once `fraction` of the bytes are sent. */
async function interruptedUpload(port: number, fraction = 0.5): Promise<void> {
  const client = await FerryClient.connect({ port });
  const controller = new AbortController();
  const error = await client
    .upload(source, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytes >= p.total * fraction) controller.abort();
      },
    })
    .catch((e: unknown) => e);
  expect((error as ClientError).code).toBe("ABORTED");
  await client.close();
}

async function partials(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith(".ferry-part-"));
}

describe("resumable uploads", () => {
  it("continue from the last durable chunk after the client hangs up, byte-identical", async () => {
    await interruptedUpload(server.port);
    await server.closedConnections(1);
    expect(await partials(server.dir)).toHaveLength(2); // data + journal kept
    const client = await FerryClient.connect({ port: server.port });
    const result = await client.upload(source);
    await client.close();
    expect(result.resumedFrom).toBeGreaterThanOrEqual(16 * MiB);
    expect(result.resumedFrom % (8 * MiB)).toBe(0);
    expect(await sha256File(path.join(server.dir, "big.bin"))).toBe(await sha256File(source));
    expect(result.digest.hex).toBe(await sha256File(source));
    await server.closedConnections(2);
    expect(await partials(server.dir)).toEqual([]);
  });

  it("detect a source that changed since the interruption and start over cleanly", async () => {
    await interruptedUpload(server.port);
    await server.closedConnections(1);
    const handle = await open(source, "r+");
    await handle.write(Buffer.from("changed!"), 0, 8, 1000); // inside the first chunk, size unchanged
    await handle.close();
    const client = await FerryClient.connect({ port: server.port });
    const result = await client.upload(source);
    await client.close();
    expect(result.resumedFrom).toBe(0);
    expect(await sha256File(path.join(server.dir, "big.bin"))).toBe(await sha256File(source));
  });

  it("survive a server restart", async () => {
    await interruptedUpload(server.port);
    await server.closedConnections(1);
    await server.server.stop();
    const again = await startTestServer({ dir: server.dir, port: server.port });
    try {
      const client = await FerryClient.connect({ port: again.port });
      const result = await client.upload(source);
      await client.close();
      expect(result.resumedFrom).toBeGreaterThan(0);
      expect(await sha256File(path.join(server.dir, "big.bin"))).toBe(await sha256File(source));
    } finally {
      await again.server.stop();
    }
  });

  it("start over when asked to (resume: false), replacing the stale partial rather than leaving it", async () => {
    await interruptedUpload(server.port);
    await server.closedConnections(1);
    const client = await FerryClient.connect({ port: server.port });
    const result = await client.upload(source, { resume: false });
    await client.close();
    expect(result.resumedFrom).toBe(0);
    expect(await sha256File(path.join(server.dir, "big.bin"))).toBe(await sha256File(source));
    await server.closedConnections(2);
    expect(await partials(server.dir)).toEqual([]); // before: the old partial stayed until it expired
  });

  it("an interrupted resumable upload says how far it got (InterruptedUpload)", async () => {
    const client = await FerryClient.connect({ port: server.port });
    const controller = new AbortController();
    const error = await client
      .upload(source, { signal: controller.signal, onProgress: (p) => p.bytes >= 20 * MiB && controller.abort() })
      .catch((e: unknown) => e);
    await client.close();
    expect(error).toBeInstanceOf(InterruptedUpload);
    expect((error as InterruptedUpload).sentBytes).toBeGreaterThanOrEqual(20 * MiB);
  });

  it("re-sending identical bytes with skipIdentical stores no copy (outcome unchanged); other bytes are renamed", async () => {
    const client = await FerryClient.connect({ port: server.port });
    const first = await client.upload(source, { skipIdentical: true });
    const again = await client.upload(source, { skipIdentical: true });
    expect(first.outcome).toBe("created");
    expect(again).toMatchObject({ outcome: "unchanged", name: "big.bin", digest: first.digest });
    const other = path.join(local.dir, "other.bin");
    await writeFile(other, "different");
    const renamed = await client.upload(other, { name: "big.bin", skipIdentical: true });
    expect(renamed).toMatchObject({ outcome: "renamed", name: "big (1).bin" });
    // The same through PUT_BATCH: the second batch finds both files identical.
    const small = path.join(local.dir, "small.txt");
    await writeFile(small, "small and identical");
    const entries = [{ localPath: small, name: "s.txt" }];
    const [stored] = await client.uploadBatch(entries, { skipIdentical: true });
    const [kept] = await client.uploadBatch(entries, { skipIdentical: true });
    await client.close();
    expect(stored).toMatchObject({ outcome: "created", name: "s.txt" });
    expect(kept).toMatchObject({ outcome: "unchanged", name: "s.txt" });
    expect((await readdir(server.dir)).filter((n) => !n.startsWith(".")).sort()).toEqual(["big (1).bin", "big.bin", "s.txt"]);
  });

  it("expire: a partial nobody resumes is swept", async () => {
    await interruptedUpload(server.port);
    await server.closedConnections(1);
    await server.server.stop();
    await new Promise((r) => setTimeout(r, 20));
    const again = await startTestServer({ dir: server.dir, partialTtlMs: 10 });
    try {
      expect(await partials(server.dir)).toEqual([]);
    } finally {
      await again.server.stop();
    }
  });

  it("refuse a second connection resuming the same upload while the first sends it", async () => {
    const first = await FerryClient.connect({ port: server.port });
    const second = await FerryClient.connect({ port: server.port });
    let secondUpload: Promise<unknown> | undefined;
    const firstDone = first.upload(source, {
      onProgress: (p) => {
        if (p.bytes >= 8 * MiB) secondUpload ??= second.upload(source).catch((e: unknown) => e);
      },
    });
    await firstDone;
    const secondError = await secondUpload;
    await first.close();
    await second.close();
    expect((secondError as ClientError | undefined)?.code).toBe("IN_PROGRESS");
  });
});

describe("resumable downloads", () => {
  async function interruptedDownload(into: string): Promise<void> {
    const client = await FerryClient.connect({ port: server.port });
    const controller = new AbortController();
    const error = await client
      .download("big.bin", {
        dir: into,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.bytes >= p.total / 2) controller.abort();
        },
      })
      .catch((e: unknown) => e);
    expect((error as ClientError).code).toBe("ABORTED");
    await client.close();
  }

  beforeEach(async () => {
    const client = await FerryClient.connect({ port: server.port });
    await client.upload(source, { resume: false });
    await client.close();
  });

  it("a download given up mid-stream leaves its connection usable: the rest of its bytes are drained", async () => {
    const client = await FerryClient.connect({ port: server.port });
    const controller = new AbortController();
    const error = await client
      .download("big.bin", { dir: path.join(local.dir, "given-up"), signal: controller.signal, onProgress: (p) => p.bytes >= p.total / 4 && controller.abort() })
      .catch((e: unknown) => e);
    expect((error as ClientError).code).toBe("ABORTED");
    expect((await client.list()).map((entry) => entry.name)).toEqual(["big.bin"]);
    await client.close();
  });

  it("continue from the verified chunks of the local partial, byte-identical", async () => {
    const into = path.join(local.dir, "into");
    await interruptedDownload(into);
    expect(await partials(into)).toHaveLength(2);
    const client = await FerryClient.connect({ port: server.port });
    const result = await client.download("big.bin", { dir: into });
    await client.close();
    expect(result.resumedFrom).toBeGreaterThanOrEqual(16 * MiB);
    expect(await sha256File(path.join(into, "big.bin"))).toBe(await sha256File(source));
    expect(await partials(into)).toEqual([]);
  });

  it("start over when the server's file changed since the interruption", async () => {
    const into = path.join(local.dir, "into");
    await interruptedDownload(into);
    const changed = path.join(local.dir, "changed.bin");
    await writeRandomFile(changed, 64 * MiB);
    const client = await FerryClient.connect({ port: server.port });
    await client.upload(changed, { name: "big.bin", onConflict: "overwrite", resume: false });
    const result = await client.download("big.bin", { dir: into });
    await client.close();
    expect(result.resumedFrom).toBe(0);
    expect(await sha256File(path.join(into, "big.bin"))).toBe(await sha256File(changed));
  });
});

it("small files are not resumable: no offer round trip, no partial", async () => {
  const server2 = await startTestServer();
  const dir = await tempDir();
  try {
    const small = path.join(dir.dir, "small.txt");
    await writeFile(small, "tiny");
    const client = await FerryClient.connect({ port: server2.port });
    expect((await client.upload(small)).resumedFrom).toBe(0);
    await client.close();
    expect(await partials(server2.dir)).toEqual([]);
  } finally {
    await server2.cleanup();
    await dir.cleanup();
  }
});
