import { chmod, mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { start } from "./processes.js";

const scripts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../scripts");

/** A loopback Swift (S3 API) and PostgreSQL for `pnpm bench --backend cluster`, started by the project's scripts. */
export interface ClusterServices {
  endpoint: string;
  db: string;
  /** Environment for ferry-server (the S3 credentials). */
  env: Record<string, string>;
  /** A fresh, empty store for one run: its own bucket and PostgreSQL schema. Returns ferry-server's flags. */
  freshStore(): Promise<string[]>;
  stop(): Promise<void>;
}

async function run(script: string, args: string[]): Promise<void> {
  const running = start(path.join(scripts, script), args);
  const code = await running.exited;
  if (code !== 0) throw new Error(`${script} ${args.join(" ")} failed: ${running.stderr()}`);
}

/** Reads the `export NAME=value` lines the scripts write. */
async function readEnv(file: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const line of (await readFile(file, "utf8")).split("\n")) {
    const match = /^export (\w+)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

export async function startClusterServices(): Promise<ClusterServices> {
  // Swift keeps its objects' metadata in extended attributes: on disk (os.tmpdir), not /dev/shm.
  const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-bench-services-"));
  await chmod(dir, 0o755); // PostgreSQL runs as its own user and must reach its data dir inside
  const swiftDir = path.join(dir, "swift");
  const pgDir = path.join(dir, "pg");
  await run("swift.sh", ["start", swiftDir]);
  await run("postgres.sh", ["start", pgDir]);
  const env = { ...(await readEnv(path.join(swiftDir, "env"))), ...(await readEnv(path.join(pgDir, "env"))) };
  const endpoint = env["FERRY_TEST_S3_ENDPOINT"]!;
  const db = env["FERRY_TEST_DB"]!;
  let runs = 0;
  return {
    endpoint,
    db,
    env: { AWS_ACCESS_KEY_ID: env["AWS_ACCESS_KEY_ID"]!, AWS_SECRET_ACCESS_KEY: env["AWS_SECRET_ACCESS_KEY"]!, AWS_REGION: env["AWS_REGION"]! },
    async freshStore() {
      const id = `run${++runs}`;
      const client = new pg.Client({ connectionString: db });
      await client.connect();
      await client.query(`CREATE SCHEMA ${id}`);
      await client.end();
      const url = `${db}?options=${encodeURIComponent(`-c search_path=${id}`)}`;
      return ["--s3-endpoint", endpoint, "--s3-bucket", `ferry-bench-${id}`, "--db", url];
    },
    async stop() {
      await run("swift.sh", ["stop", swiftDir]).catch(() => undefined);
      await run("postgres.sh", ["stop", pgDir]).catch(() => undefined);
    },
  };
}
