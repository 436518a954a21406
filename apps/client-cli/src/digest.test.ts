// --digest blake3: the transfer digest negotiated in the handshake (protocol.md §4.7), shown with
// its algorithm in the text output, --json and ls; a file recorded by one algorithm never counts
// as unchanged for the other.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { blake3 } from "@napi-rs/blake-hash";
import { afterEach, beforeEach, expect, it } from "vitest";
import { FerryServer } from "@ferry/server-core";
import { cliEvents, runFerry } from "./testing/run-ferry.js";
let store: string;
let src: string;
let server: FerryServer;
let port: number;

beforeEach(async () => {
  store = await mkdtemp(path.join(tmpdir(), "ferry-digest-store-"));
  src = await mkdtemp(path.join(tmpdir(), "ferry-digest-src-"));
  server = new FerryServer({ port: 0, dir: store, fsync: false });
  ({ port } = await server.start());
});

afterEach(async () => {
  await server.stop({ graceMs: 500 });
  await rm(store, { recursive: true, force: true });
  await rm(src, { recursive: true, force: true });
});

// FERRY_DIGEST from the environment running the tests must not choose for them.
const ferry = (args: string[]) => runFerry(["-p", String(port), ...args], { env: { FERRY_DIGEST: "" } });
const events = cliEvents;

const b3 = (bytes: Buffer): string => blake3(bytes).toString("hex");
const sha = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

it("sends, lists and gets with BLAKE3, naming the algorithm beside every digest", async () => {
  const bytes = randomBytes(3 * 1024 * 1024 + 7);
  const file = path.join(src, "a.bin");
  await writeFile(file, bytes);
  const sent = await ferry(["--digest", "blake3", "send", "--json", file]);
  expect(sent.code).toBe(0);
  const stored = events(sent.stdout).find((e) => e.type === "file");
  expect(stored).toMatchObject({ outcome: "created", digest: "blake3", blake3: b3(bytes) });
  expect(stored).not.toHaveProperty("sha256");

  const listed = await ferry(["ls"]);
  expect(listed.stdout).toContain(`blake3 ${b3(bytes).slice(0, 16)}…  a.bin`);
  const entries = events((await ferry(["ls", "--json"])).stdout).filter((e) => e.type === "entry");
  expect(entries).toEqual([expect.objectContaining({ name: "a.bin", digest: "blake3", sha256: null, blake3: b3(bytes) })]);

  const out = path.join(src, "out");
  const got = await ferry(["--digest", "blake3", "get", "-o", out, "a.bin"]);
  expect(got.code).toBe(0);
  expect(got.stderr + got.stdout).toContain(`blake3 ${b3(bytes)}`);
  expect((await readFile(path.join(out, "a.bin"))).equals(bytes)).toBe(true);
  // Without --digest the same file comes checked with SHA-256, hashed by the server as it sends.
  const plain = await ferry(["get", "-o", path.join(src, "plain"), "a.bin"]);
  expect(plain.stderr + plain.stdout).toContain(`sha256 ${sha(bytes)}`);
});

it("counts a file recorded with the other algorithm as changed, and one recorded with its own as unchanged", async () => {
  const folder = path.join(src, "proj");
  await mkdir(folder);
  await writeFile(path.join(folder, "x.txt"), "same bytes");
  const outcomesOf = async (args: string[]) => events((await ferry([...args, "send", "--json", "--on-conflict", "overwrite", folder])).stdout).filter((e) => e.type === "file").map((e) => (e.type === "file" ? e.outcome : ""));
  expect(await outcomesOf([])).toEqual(["created"]);
  expect(await outcomesOf(["--digest", "blake3"])).toEqual(["overwritten"]);
  expect(await outcomesOf(["--digest", "blake3"])).toEqual(["unchanged"]);
  expect(await outcomesOf([])).toEqual(["overwritten"]);
});

it("refuses an unknown --digest with exit 2, naming the flag and the choices", async () => {
  const result = await ferry(["--digest", "md5", "ls"]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain("--digest must be sha256 or blake3");
});
