import { mkdir, readFile, readdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ClientError, FerryClient, downloadFolder, uploadFiles, walkLocalFolder } from "@ferry/client-core";
import { sha256, startTestServer, tempDir, WirePeer, type TestServer } from "@ferry/server-core/testing";

let server: TestServer;
let local: Awaited<ReturnType<typeof tempDir>>;
let client: FerryClient;

beforeEach(async () => {
  server = await startTestServer();
  local = await tempDir("ferry-folders-");
  client = await FerryClient.connect({ port: server.port });
});
afterEach(async () => {
  await client.close();
  await server.cleanup();
  await local.cleanup();
});

/** Every file under `dir` as "relative/path": content, sorted. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith(".ferry-")) continue;
    const full = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, full).split(path.sep).join("/")] = await readFile(full, "latin1");
  }
  return out;
}

describe("folders", () => {
  // fsync on, as shipped: a new folder is synced into its parent before a file in it counts.
  it("creates nested folders on a server that fsyncs, and stores the files in them", async () => {
    const durable = await startTestServer({ fsync: true });
    const other = await FerryClient.connect({ port: durable.port });
    try {
      const body = Buffer.from("deep\n");
      const stored = await other.uploadStream([body], { name: "a/b/c/deep.txt", size: body.length });
      expect(stored.name).toBe("a/b/c/deep.txt");
      expect(await readFile(path.join(durable.dir, "a", "b", "c", "deep.txt"), "utf8")).toBe("deep\n");
    } finally {
      await other.close();
      await durable.cleanup();
    }
  });

  it("sends a folder's small files in batches, and file by file when batches are turned off", async () => {
    const src = path.join(local.dir, "plain");
    await mkdir(src);
    await writeFile(path.join(src, "a.txt"), "a\n");
    await writeFile(path.join(src, "b.txt"), "b\n");
    const { files } = await walkLocalFolder(src);
    const batches = vi.spyOn(client, "uploadBatch");
    expect(await uploadFiles(client, files)).toBe(0);
    expect(batches).toHaveBeenCalledTimes(1);
    expect(await uploadFiles(client, files, { batch: false, onConflict: "overwrite" })).toBe(0);
    expect(batches).toHaveBeenCalledTimes(1); // not again
    expect(server.events["upload-stored"].map((e) => e.name).sort()).toEqual(["plain/a.txt", "plain/a.txt", "plain/b.txt", "plain/b.txt"]);
  });

  it("round-trips a tree with nested folders and empty files, paths preserved", async () => {
    const src = path.join(local.dir, "project");
    await mkdir(path.join(src, "docs", "deep", "deeper"), { recursive: true });
    await writeFile(path.join(src, "README.md"), "# hi\n");
    await writeFile(path.join(src, "empty.txt"), "");
    await writeFile(path.join(src, "docs", "a.bin"), Buffer.from([0, 1, 2, 255]));
    await writeFile(path.join(src, "docs", "deep", "deeper", "z.txt"), "bottom");
    await writeFile(path.join(src, "docs", "deep", "empty-too"), "");
    const { files, skipped } = await walkLocalFolder(src);
    expect(skipped).toEqual([]);
    expect(await uploadFiles(client, files)).toBe(0);
    expect(await tree(path.join(server.dir, "project"))).toEqual(await tree(src));

    const back = path.join(local.dir, "back");
    expect(await downloadFolder(client, "project", { dir: back })).toBe(0);
    expect(await tree(path.join(back, "project"))).toEqual(await tree(src));
    expect((await client.list("project/docs")).map((e) => e.name)).toEqual([
      "project/docs/a.bin",
      "project/docs/deep/deeper/z.txt",
      "project/docs/deep/empty-too",
    ]);
  });

  it("does not follow symlinks in a local folder: they are skipped and reported", async () => {
    const src = path.join(local.dir, "withlinks");
    await mkdir(src);
    await writeFile(path.join(src, "real.txt"), "real");
    await symlink("/etc", path.join(src, "etc-link"));
    await symlink(path.join(src, "real.txt"), path.join(src, "file-link"));
    const { files, skipped } = await walkLocalFolder(src);
    expect(files.map((f) => f.name)).toEqual(["withlinks/real.txt"]);
    expect(skipped.map((s) => path.basename(s.localPath)).sort()).toEqual(["etc-link", "file-link"]);
  });

  it("never writes or reads through a symlinked folder planted in the storage dir", async () => {
    const outside = path.join(local.dir, "outside");
    await mkdir(outside);
    await writeFile(path.join(outside, "secret.txt"), "secret");
    await symlink(outside, path.join(server.dir, "planted"));
    const body = Buffer.from("x");
    const error = await client.uploadStream([body], { name: "planted/new.txt", size: 1 }).catch((e: unknown) => e);
    expect((error as ClientError).code).toBe("BAD_NAME");
    expect(await readdir(outside)).toEqual(["secret.txt"]);
    const read = await client.download("planted/secret.txt", { dir: path.join(local.dir, "in") }).catch((e: unknown) => e);
    expect((read as ClientError).code).toBe("NOT_FOUND");
    const listed = await client.list();
    expect(listed.map((e) => e.name)).toEqual([]);
  });

  it("refuses traversal in folder paths on the wire", async () => {
    const { peer } = await WirePeer.handshake(server.port);
    for (const [id, name] of ["a/../../x", "/abs/x", "a//b", "a/./b", "a\\b/c"].entries()) {
      peer.send({ type: "put", id, name, size: 1 });
      peer.data(Buffer.from("!"));
      peer.send({ type: "put_end", id, sha256: sha256(Buffer.from("!")) });
      expect(await peer.next()).toMatchObject({ type: "error", id, code: "BAD_NAME" });
    }
    peer.socket.end();
  });

  it("lands 10,000 small files from one folder send, pipelined on one connection", async () => {
    const src = path.join(local.dir, "many");
    await mkdir(src);
    for (let dir = 0; dir < 10; dir++) {
      await mkdir(path.join(src, `d${dir}`));
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) => writeFile(path.join(src, `d${dir}`, `f${i}.txt`), `file ${dir}/${i}\n`)),
      );
    }
    const { files } = await walkLocalFolder(src);
    expect(files).toHaveLength(10_000);
    expect(await uploadFiles(client, files)).toBe(0);
    const listed = await client.list("many");
    expect(listed).toHaveLength(10_000);
    expect(listed.every((e) => e.sha256 !== null)).toBe(true);
    expect(await readFile(path.join(server.dir, "many", "d7", "f123.txt"), "utf8")).toBe("file 7/123\n");
    expect(server.events.connection).toHaveLength(1);
  });
});
