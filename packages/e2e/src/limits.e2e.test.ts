import { execFileSync } from "node:child_process";
import { mkdir, rmdir } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FerryClient } from "@ferry/client-core";
import { FRAME_TYPES, type ServerConfigInput } from "@ferry/protocol";
import { Cleanups, clientFailure } from "./testing/client-helpers.js";
import { listDir, sha256, startTestServer, tempDir, WirePeer, writeRandomFile, type TestServer } from "@ferry/server-core/testing";

const cleanups = new Cleanups();
afterEach(() => cleanups.runAll());

async function serve(config: ServerConfigInput): Promise<TestServer> {
  const server = await startTestServer(config);
  cleanups.add(() => server.cleanup());
  return server;
}

async function connect(server: TestServer): Promise<FerryClient> {
  const client = await FerryClient.connect({ port: server.port });
  cleanups.add(() => client.close());
  return client;
}

const codeOf = async (promise: Promise<unknown>) => (await clientFailure(promise)).code;

function put(client: FerryClient, name: string, body: Buffer) {
  return client.uploadStream([body], { name, size: body.length });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("free disk space", () => {
  it("refuses an upload that would leave less than minFreeBytes: NO_SPACE, nothing written, connection usable", async () => {
    const server = await serve({ minFreeBytes: Number.MAX_SAFE_INTEGER - 1 });
    const client = await connect(server);
    expect(await codeOf(put(client, "big.bin", Buffer.alloc(100_000)))).toBe("NO_SPACE");
    expect(await codeOf(put(client, "small.txt", Buffer.from("hi")))).toBe("NO_SPACE");
    expect(await listDir(server.dir)).toEqual([]);
    expect(await client.list()).toEqual([]);
  });

  it("turns a disk that fills up mid-file (a 2 MiB tmpfs) into NO_SPACE, with no half file left", async (context) => {
    const scratch = await tempDir("ferry-tmpfs-");
    cleanups.add(() => scratch.cleanup());
    const mountPoint = path.join(scratch.dir, "disk");
    await mkdir(mountPoint);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", mountPoint], { stdio: "ignore" });
    } catch {
      context.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN); not available here");
    }
    cleanups.add(async () => {
      execFileSync("umount", [mountPoint]);
      await rmdir(mountPoint);
    });
    // minFreeBytes 0: the check before the upload passes, so the disk really fills while writing.
    const server = await serve({ dir: path.join(mountPoint, "store"), minFreeBytes: 0 });
    const client = await connect(server);
    const source = path.join(scratch.dir, "four.bin");
    await writeRandomFile(source, 4 * 1024 * 1024);
    expect(await codeOf(client.upload(source, { resume: false }))).toBe("NO_SPACE");
    expect(await listDir(server.dir)).toEqual([]);
    // The space is given back, so the next upload fits.
    const small = Buffer.from("still serving");
    expect((await put(client, "after.txt", small)).digest.hex).toBe(sha256(small));
  });
});

describe("minimum data rate", () => {
  const slow = { minBytesPerSecond: 2_000, rateWindowMs: 200 };

  it("cuts an upload trickling 10 bytes per 100 ms with TOO_SLOW while another client uploads", async () => {
    const server = await serve(slow);
    const { peer } = await WirePeer.handshake(server.port);
    peer.send({ type: "put", id: 1, name: "slow.bin", size: 1_000_000 });
    const trickle = setInterval(() => peer.data(Buffer.alloc(10)), 100);
    try {
      const client = await connect(server);
      const body = Buffer.alloc(3 * 1024 * 1024, 1);
      expect((await put(client, "fast.bin", body)).size).toBe(body.length);
      expect(await peer.next()).toMatchObject({ type: "error", code: "TOO_SLOW" });
      await peer.closed;
    } finally {
      clearInterval(trickle);
    }
    await server.closedConnections(1);
    expect(await listDir(server.dir)).toEqual(["fast.bin"]);
  });

  it("cuts a control frame sent one byte at a time (slowloris between requests)", async () => {
    const server = await serve(slow);
    const { peer } = await WirePeer.handshake(server.port);
    const header = Buffer.from([FRAME_TYPES.CONTROL, 0, 0, 0, 200]);
    let at = 0;
    const trickle = setInterval(() => at < header.length && peer.write(header.subarray(at, ++at)), 60);
    try {
      expect(await peer.next()).toMatchObject({ type: "error", code: "TOO_SLOW" });
    } finally {
      clearInterval(trickle);
    }
  });

  it("leaves a connection resting between requests to the idle timeout", async () => {
    const server = await serve(slow);
    const client = await connect(server);
    await sleep(700); // several windows with nothing in progress
    expect(await client.list()).toEqual([]);
  });

  it("cuts a client that never reads its download; the server's memory stays flat", async () => {
    const server = await serve({ ...slow, minBytesPerSecond: 64 * 1024 });
    const local = await tempDir("ferry-local-");
    cleanups.add(() => local.cleanup());
    const source = path.join(local.dir, "big.bin");
    await writeRandomFile(source, 48 * 1024 * 1024);
    const uploader = await connect(server);
    await uploader.upload(source, { resume: false });

    const before = process.memoryUsage().rss;
    const { peer } = await WirePeer.handshake(server.port);
    peer.socket.pause(); // never read: the kernel buffers fill, then the server must wait
    peer.send({ type: "get", id: 1, name: "big.bin" });
    // The paused peer cannot see the close (its receive window is full), so watch the server side:
    // cut after two quiet rate windows, plus LINGER_MS for the ERROR frame that cannot get through.
    await server.closedConnections(1);
    peer.socket.destroy();
    // The server held at most its socket buffers, not the 48 MiB file.
    expect(process.memoryUsage().rss - before).toBeLessThan(24 * 1024 * 1024);
    const errors = server.events["connection-error"].map((e) => e.code);
    expect(errors).toContain("TOO_SLOW");
    // Others are still served.
    expect(await uploader.list()).toHaveLength(1);
  });
});
