import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeLink, startSharing, type Sharing } from "./testing.js";

const running: Sharing[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.cleanup();
});

async function sharing(config: Parameters<typeof startSharing>[0] = {}): Promise<Sharing> {
  const server = await startSharing(config);
  running.push(server);
  return server;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A raw HTTP request: the path goes on the wire exactly as written (fetch would normalise "..", "%2F"…). */
function request(port: number, method: string, rawPath: string, headers: Record<string, string> = {}, body?: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path: rawPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function put(dir: string, name: string, bytes: Buffer | string): Promise<void> {
  await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
  await writeFile(path.join(dir, name), bytes);
}

describe("download links over HTTP", () => {
  it("serves a file with its SHA-256 as ETag and Repr-Digest, as an attachment, byte-identical, with Range, If-Range and If-None-Match", async () => {
    const server = await sharing();
    const bytes = randomBytes(3 * 1024 * 1024 + 5);
    await put(server.dir, "docs/report ü.bin", bytes);
    const link = await makeLink(server.server, { paths: ["docs/"] });
    const url = `${link.path}/f/docs/${encodeURIComponent("report ü.bin")}`;
    const whole = await request(server.http.port, "GET", url);
    expect(whole.status).toBe(200);
    expect(sha256(whole.body)).toBe(sha256(bytes));
    // A file stored by hand has no recorded SHA-256: a weak ETag, no digest header.
    expect(whole.headers.etag).toMatch(/^W\//);
    expect(whole.headers["content-disposition"]).toBe(`attachment; filename="report _.bin"; filename*=UTF-8''report%20%C3%BC.bin`);
    expect(whole.headers["content-type"]).toBe("application/octet-stream");
    expect(whole.headers["x-content-type-options"]).toBe("nosniff");
    expect(whole.headers["content-security-policy"]).toContain("sandbox");
    expect(whole.headers["referrer-policy"]).toBe("no-referrer");

    const part = await request(server.http.port, "GET", url, { range: "bytes=1048576-" });
    expect(part.status).toBe(206);
    expect(part.headers["content-range"]).toBe(`bytes 1048576-${bytes.length - 1}/${bytes.length}`);
    expect(part.body.equals(bytes.subarray(1048576))).toBe(true);
    const stale = await request(server.http.port, "GET", url, { range: "bytes=10-", "if-range": '"0000"' });
    expect(stale.status).toBe(200);
    expect(stale.body.length).toBe(bytes.length);
    const cached = await request(server.http.port, "GET", url, { "if-none-match": whole.headers.etag! });
    expect(cached.status).toBe(304);
    const beyond = await request(server.http.port, "GET", url, { range: `bytes=${bytes.length}-` });
    expect(beyond.status).toBe(416);
    expect(beyond.headers["content-range"]).toBe(`bytes */${bytes.length}`);
  });

  it("names a file Ferry stored by its SHA-256: strong ETag, Repr-Digest and Digest; the page shows the full digest", async () => {
    const server = await sharing();
    const bytes = randomBytes(70_000);
    // Stored through the storage, as a Ferry upload is, so its SHA-256 is recorded.
    const storage = server.server.spaceForLink(null, "read")!.storage;
    const file = await storage.createIncoming(bytes.length);
    file.write(bytes);
    const digest = await file.finish(false);
    await storage.publish(file, "a.bin", "rename", { size: bytes.length, digest: { algorithm: "sha256", hex: digest } });
    const link = await makeLink(server.server, { paths: ["a.bin"] });
    const got = await request(server.http.port, "GET", `${link.path}/f/a.bin`);
    expect(got.headers.etag).toBe(`"${digest}"`);
    const base64 = Buffer.from(digest, "hex").toString("base64");
    expect(got.headers["repr-digest"]).toBe(`sha-256=:${base64}:`);
    expect(got.headers.digest).toBe(`SHA-256=${base64}`);
    const page = await request(server.http.port, "GET", `${link.path}/`);
    expect(page.status).toBe(200);
    expect(page.body.toString()).toContain(digest);
    expect(page.body.toString()).toContain(`href="${link.path}/f/a.bin"`);
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
  });

  it("names a file sent over a BLAKE3 connection by its BLAKE3: a b3- ETag, no SHA-256 headers, the page says BLAKE3", async () => {
    const server = await sharing();
    const bytes = randomBytes(70_000);
    const storage = server.server.spaceForLink(null, "read")!.storage;
    const file = await storage.createIncoming(bytes.length, "blake3");
    file.write(bytes);
    const hex = await file.finish(false);
    await storage.publish(file, "b.bin", "rename", { size: bytes.length, digest: { algorithm: "blake3", hex } });
    const link = await makeLink(server.server, { paths: ["b.bin"] });
    const got = await request(server.http.port, "GET", `${link.path}/f/b.bin`);
    expect(got.body.equals(bytes)).toBe(true);
    expect(got.headers.etag).toBe(`"b3-${hex}"`);
    expect(got.headers["repr-digest"]).toBeUndefined();
    expect(got.headers.digest).toBeUndefined();
    const again = await request(server.http.port, "GET", `${link.path}/f/b.bin`, { "if-none-match": `"b3-${hex}"` });
    expect(again.status).toBe(304);
    const page = (await request(server.http.port, "GET", `${link.path}/`)).body.toString();
    expect(page).toContain(`BLAKE3 <code class="sha">${hex}</code>`);
  });

  it("counts downloads: the last one is served once, a started one may still resume, then 410", async () => {
    const server = await sharing();
    await put(server.dir, "one.bin", randomBytes(1000));
    const link = await makeLink(server.server, { paths: ["one.bin"], maxDownloads: 1 });
    const head = await request(server.http.port, "HEAD", `${link.path}/f/one.bin`);
    expect(head.status).toBe(200);
    expect((await request(server.http.port, "GET", `${link.path}/f/one.bin`)).status).toBe(200);
    expect((await request(server.http.port, "GET", `${link.path}/f/one.bin`, { range: "bytes=500-" })).status).toBe(206);
    expect((await request(server.http.port, "GET", `${link.path}/f/one.bin`)).status).toBe(410);
    expect((await request(server.http.port, "GET", `${link.path}/`)).status).toBe(410);
  });

  it("answers 404 for unknown and revoked links and 410 for expired ones, with the same body whatever the file", async () => {
    const server = await sharing();
    await put(server.dir, "a/x.txt", "x");
    const expired = await makeLink(server.server, { paths: ["a/"], expiresIn: -1 });
    const gone = await request(server.http.port, "GET", `${expired.path}/f/a/x.txt`);
    const goneMissing = await request(server.http.port, "GET", `${expired.path}/f/a/nothing.txt`);
    expect([gone.status, goneMissing.status]).toEqual([410, 410]);
    expect(gone.body.equals(goneMissing.body)).toBe(true);
    const revoked = await makeLink(server.server, { paths: ["a/"] });
    await server.server.shares!.remove(null, revoked.key);
    const unknown = await request(server.http.port, "GET", `/s/${"A".repeat(32)}/f/a/x.txt`);
    const revokedFile = await request(server.http.port, "GET", `${revoked.path}/f/a/x.txt`);
    expect([unknown.status, revokedFile.status]).toEqual([404, 404]);
    expect(unknown.body.equals(revokedFile.body)).toBe(true);
  });

  it("reaches only what the link names: a link for a/ cannot reach b/ by any path trick", async () => {
    const server = await sharing();
    await put(server.dir, "a/in.txt", "in");
    await put(server.dir, "b/secret.txt", "secret");
    await put(server.dir, "top.txt", "top");
    const link = await makeLink(server.server, { paths: ["a/"] });
    expect((await request(server.http.port, "GET", `${link.path}/f/a/in.txt`)).body.toString()).toBe("in");
    const tricks = [
      "/f/b/secret.txt",
      "/f/a/../b/secret.txt",
      "/f/a/%2E%2E/b/secret.txt",
      "/f/a%2F..%2Fb%2Fsecret.txt",
      "/f/a/..%2Fb%2Fsecret.txt",
      "/f/a/..%5Cb%5Csecret.txt",
      "/f/a/in.txt%00",
      "/f/a/%C0%AE%C0%AE/b/secret.txt",
      "/f/a/%E0%80%AE%E0%80%AE/b/secret.txt",
      "/f/top.txt",
      "/f//b/secret.txt",
      "/f/%2Fb/secret.txt",
      "/d/b/",
      "/z/b/",
      "/f/a",
      "/f/a/.ferry-shares.json",
    ];
    for (const trick of tricks) {
      const got = await request(server.http.port, "GET", `${link.path}${trick}`);
      expect({ trick, status: got.status }).toEqual({ trick, status: 404 });
      expect(got.body.toString()).not.toContain("secret");
    }
  });

  it("serves an uploaded .html as an attachment that can run nothing", async () => {
    const server = await sharing();
    await put(server.dir, "page.html", "<script>document.title='pwned'</script>");
    const link = await makeLink(server.server, { paths: ["page.html"] });
    const got = await request(server.http.port, "GET", `${link.path}/f/page.html`);
    expect(got.status).toBe(200);
    expect(got.headers["content-type"]).toBe("application/octet-stream");
    expect(got.headers["content-disposition"]).toMatch(/^attachment;/);
    expect(got.headers["content-security-policy"]).toBe("default-src 'none'; sandbox; frame-ancestors 'none'");
    expect(got.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("zips a folder as it streams; the archive holds every file byte-identical", async () => {
    const server = await sharing();
    const files = { "d/a.bin": randomBytes(2 * 1024 * 1024 + 1), "d/sub/b.txt": Buffer.from("b"), "d/empty": Buffer.alloc(0) };
    for (const [name, bytes] of Object.entries(files)) await put(server.dir, name, bytes);
    const link = await makeLink(server.server, { paths: ["d/"] });
    const got = await request(server.http.port, "GET", `${link.path}/z/d/`);
    expect(got.status).toBe(200);
    expect(got.headers["content-type"]).toBe("application/zip");
    expect(got.headers["content-disposition"]).toBe('attachment; filename="d.zip"');
    const out = path.join(server.dir, "..", `unzipped-${randomBytes(4).toString("hex")}`);
    await mkdir(out);
    await writeFile(path.join(out, "d.zip"), got.body);
    execFileSync("python3", ["-m", "zipfile", "-e", path.join(out, "d.zip"), path.join(out, "x")]);
    expect((await readdir(path.join(out, "x"), { recursive: true })).sort()).toEqual(["a.bin", "empty", "sub", "sub/b.txt"]);
    for (const [name, bytes] of Object.entries(files)) {
      const inZip = execFileSync("python3", ["-c", "import sys,hashlib;print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())", path.join(out, "x", name.slice(2))]).toString().trim();
      expect(inZip).toBe(sha256(bytes));
    }
  });

  it("asks for a password: a form that sets a cookie for the link, or HTTP Basic; wrong ones are refused", async () => {
    const server = await sharing();
    await put(server.dir, "p.txt", "private");
    const link = await makeLink(server.server, { paths: ["p.txt"], password: "hunter2" });
    const page = await request(server.http.port, "GET", `${link.path}/`);
    expect(page.status).toBe(401);
    expect(page.body.toString()).toContain('type="password"');
    expect((await request(server.http.port, "GET", `${link.path}/f/p.txt`)).status).toBe(401);
    const form = { "content-type": "application/x-www-form-urlencoded" };
    expect((await request(server.http.port, "POST", `${link.path}/unlock`, form, Buffer.from("password=wrong"))).status).toBe(401);
    const right = await request(server.http.port, "POST", `${link.path}/unlock`, form, Buffer.from("password=hunter2"));
    expect(right.status).toBe(303);
    const cookie = right.headers["set-cookie"]![0]!;
    expect(cookie).toMatch(new RegExp(`; Path=${link.path}; HttpOnly; SameSite=Strict`));
    const withCookie = await request(server.http.port, "GET", `${link.path}/f/p.txt`, { cookie: cookie.split(";")[0]! });
    expect(withCookie.body.toString()).toBe("private");
    const basic = await request(server.http.port, "GET", `${link.path}/f/p.txt`, { authorization: `Basic ${Buffer.from(":hunter2").toString("base64")}` });
    expect(basic.body.toString()).toBe("private");
  });
});

describe("upload links: tus 1.0.0", () => {
  const tus = { "tus-resumable": "1.0.0" };
  const meta = (name: string): string => `filename ${Buffer.from(name).toString("base64")}`;

  it("creates, takes PATCHes, answers HEAD with what it holds, and publishes the verified file under the link's folder", async () => {
    const server = await sharing();
    const link = await makeLink(server.server, { kind: "upload", paths: ["inbox/"], maxFiles: 5 });
    const options = await request(server.http.port, "OPTIONS", `${link.path}/tus`);
    expect(options.status).toBe(204);
    expect(options.headers["tus-version"]).toBe("1.0.0");
    const bytes = randomBytes(9 * 1024 * 1024 + 3);
    const created = await request(server.http.port, "POST", `${link.path}/tus`, { ...tus, "upload-length": String(bytes.length), "upload-metadata": meta("photo.jpg") });
    expect(created.status).toBe(201);
    const location = created.headers.location!;
    expect(location.startsWith(`${link.path}/tus/`)).toBe(true);
    const patch = (offset: number, body: Buffer) =>
      request(server.http.port, "PATCH", location, { ...tus, "content-type": "application/offset+octet-stream", "upload-offset": String(offset) }, body);
    const first = await patch(0, bytes.subarray(0, 8 * 1024 * 1024));
    expect(first.status).toBe(204);
    expect(first.headers["upload-offset"]).toBe(String(8 * 1024 * 1024));
    expect((await request(server.http.port, "HEAD", location, tus)).headers["upload-offset"]).toBe(String(8 * 1024 * 1024));
    expect((await patch(0, bytes.subarray(0, 10))).status).toBe(409);
    const last = await patch(8 * 1024 * 1024, bytes.subarray(8 * 1024 * 1024));
    expect(last.status).toBe(204);
    expect(last.headers["upload-offset"]).toBe(String(bytes.length));
    expect(last.headers["ferry-stored-name"]).toBe("inbox%2Fphoto.jpg");
    expect(last.headers["ferry-sha256"]).toBe(sha256(bytes));
    const listed = await server.server.spaceForLink(null, "write")!.storage.list("inbox");
    expect(listed).toEqual([expect.objectContaining({ name: "inbox/photo.jpg", size: bytes.length, sha256: sha256(bytes) })]);
    expect(await server.server.shares!.get(link.key)).toMatchObject({ uploadedFiles: 1, uploadedBytes: bytes.length });
  });

  it("keeps a second file of the same name beside the first, and refuses files past the link's limits", async () => {
    const server = await sharing();
    const link = await makeLink(server.server, { kind: "upload", paths: [""], maxFiles: 2, maxBytes: 100 });
    const send = async (name: string, body: Buffer) => {
      const created = await request(server.http.port, "POST", `${link.path}/tus`, { ...tus, "upload-length": String(body.length), "upload-metadata": meta(name) });
      if (created.status !== 201) return created;
      return request(server.http.port, "PATCH", created.headers.location!, { ...tus, "content-type": "application/offset+octet-stream", "upload-offset": "0" }, body);
    };
    expect((await send("a.txt", Buffer.from("one"))).headers["ferry-stored-name"]).toBe("a.txt");
    expect((await send("a.txt", Buffer.from("two"))).headers["ferry-stored-name"]).toBe(encodeURIComponent("a (1).txt"));
    expect((await send("c.txt", Buffer.from("three"))).status).toBe(413);
    const big = await makeLink(server.server, { kind: "upload", paths: [""], maxBytes: 10 });
    const tooBig = await request(server.http.port, "POST", `${big.path}/tus`, { ...tus, "upload-length": "11", "upload-metadata": meta("x") });
    expect(tooBig.status).toBe(413);
    const hostile = await request(server.http.port, "POST", `${link.path}/tus`, { ...tus, "upload-length": "1", "upload-metadata": meta("../escape.txt") });
    expect(hostile.status).toBe(400);
    expect((await request(server.http.port, "HEAD", `${link.path}/tus/not-an-upload`, tus)).status).toBe(404);
  });
});
