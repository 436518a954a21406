// deploy/: the systemd unit passes systemd-analyze verify, and the container image's one premise —
// the bundled server runs alone from an empty directory with no node_modules — holds.
import { execFile, spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const DIST = fileURLToPath(new URL("../dist/", import.meta.url));
const DEPLOY = fileURLToPath(new URL("../../../deploy/", import.meta.url));

async function hasCommand(name: string): Promise<boolean> {
  return run("sh", ["-c", `command -v ${name}`]).then(
    () => true,
    () => false,
  );
}

describe("deploy/ferry-server.service", () => {
  it("passes systemd-analyze verify without a warning", async (context) => {
    if (!(await hasCommand("systemd-analyze"))) {
      console.log("skipped: systemd-analyze is not installed (Debian's systemd package; .ci/run installs it)");
      context.skip();
    }
    const unit = path.join(DEPLOY, "ferry-server.service");
    const result = await run("systemd-analyze", ["verify", unit]).then(
      ({ stderr }) => ({ code: 0, stderr }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(result).toEqual({ code: 0, stderr: "" });
    const text = await readFile(unit, "utf8");
    for (const line of ["ExecReload=/bin/kill -HUP $MAINPID", "DynamicUser=yes", "StateDirectory=ferry", "ProtectSystem=strict", "NoNewPrivileges=yes", "Restart=on-failure"]) {
      expect(text).toContain(line);
    }
  });
});

describe("deploy/Dockerfile's premise: the bundle alone", () => {
  let base: string;
  let bundle: string;
  beforeAll(async () => {
    base = await mkdtemp(path.join(tmpdir(), "ferry-image-"));
    bundle = path.join(base, "opt");
    await mkdir(bundle);
    // What the image copies: COPY apps/server-cli/dist/ferry-server*.mjs /opt/ferry/
    const files = (await readdir(DIST)).filter((name) => /^ferry-server.*\.mjs$/.test(name));
    for (const name of files) await copyFile(path.join(DIST, name), path.join(bundle, name));
    expect(await readFile(path.join(DEPLOY, "Dockerfile"), "utf8")).toContain("COPY --from=build /src/apps/server-cli/dist/ferry-server*.mjs /opt/ferry/");
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it("serves from an empty directory with no node_modules, and the image's HEALTHCHECK passes against it", async () => {
    const work = path.join(base, "work");
    await mkdir(work);
    const child = spawn(process.execPath, [path.join(bundle, "ferry-server.mjs"), "--port", "0", "--dir", "files", "--admin", "127.0.0.1:0"], {
      cwd: work,
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" },
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise((resolve) => child.on("exit", resolve));
    try {
      const ports = await new Promise<{ data: number; admin: number }>((resolve, reject) => {
        child.stdout.on("data", () => {
          const data = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
          const admin = /admin on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
          if (data && admin) resolve({ data: Number(data[1]), admin: Number(admin[1]) });
        });
        void exited.then(() => reject(new Error(`exited before listening:\n${out}`)));
      });
      // A raw upload, the lab's way: bytes then FIN.
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(ports.data, "127.0.0.1", () => socket.end("from the image\n"));
        socket.on("close", () => resolve());
        socket.on("error", reject);
      });
      await expect.poll(() => readdir(path.join(work, "files")).catch(() => []), { timeout: 60_000 }).toContain("output0.txt");
      // The HEALTHCHECK line of the Dockerfile, run as written (its port made this one's).
      const dockerfile = await readFile(path.join(DEPLOY, "Dockerfile"), "utf8");
      const check = /CMD (\["node", "-e", .*\])\n/.exec(dockerfile.replace(/\\\n\s*/g, ""));
      expect(check).not.toBeNull();
      const [command, ...args] = JSON.parse(check![1]!.replace("9100", String(ports.admin))) as string[];
      await expect(run(command!, args, { cwd: work })).resolves.toBeDefined();
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
  });

  it("loads its cluster storage chunk alone too (an unreachable store is exit 3 with one line)", async () => {
    const result = await run(process.execPath, [path.join(bundle, "ferry-server.mjs"), "--port", "0", "--s3-endpoint", "http://127.0.0.1:1", "--s3-bucket", "bucket", "--db", "postgres://x@127.0.0.1:1/x"], {
      cwd: base,
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s" },
    }).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^ferry-server: object store .* is unreachable \(ECONNREFUSED\)\n$/);
  });
});
