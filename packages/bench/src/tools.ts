import { mkdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cpuMs, peakRss, processTree, start, statCpuMs, treeCpuMs, waitForOutput, type Running } from "./processes.js";
import { freePort, type Workload } from "./workloads.js";

/** What one run of one tool on one workload measured. RSS is null where it cannot be read. */
export interface Measurement {
  ms: number;
  serverRss: number | null;
  clientRss: number | null;
  /** CPU (user + system) the receiving/serving side and the client side(s) used during the run, in ms; null where not read. */
  serverCpuMs: number | null;
  clientCpuMs: number | null;
}

export type ToolName =
  | "ferry"
  | "ferry-blake3"
  | "ferry-cli"
  | "ferry-workers-2"
  | "ferry-cluster"
  | "ferry-download"
  | "ferry-blake3-download"
  | "ferry-resend"
  | "raw-pipe"
  | "raw-pipe-sha256"
  | "nc"
  | "rsync"
  | "rsync-download"
  | "rsync-resend";

/** How a ferry-server is started: its storage flags and environment (local: --dir only). */
export interface Backend {
  args(runDir: string): Promise<string[]>;
  env?: Record<string, string>;
}

export const LOCAL: Backend = { args: async (runDir) => ["--dir", path.join(runDir, "store")] };

const here = path.dirname(fileURLToPath(import.meta.url));
export const SERVER_BIN = createRequire(import.meta.url).resolve("@ferry/server-cli/package.json").replace(/package\.json$/, "dist/ferry-server.mjs");
const CLIENT_BIN = createRequire(import.meta.url).resolve("@ferry/client-cli/package.json").replace(/package\.json$/, "dist/ferry.mjs");
const DRIVER = path.join(here, "ferry-driver.js");
const DOWNLOAD_DRIVER = path.join(here, "ferry-download-driver.js");
const RAW_RECEIVER = path.join(here, "raw-receiver.js");
const RAW_SENDER = path.join(here, "raw-sender.js");

/** What a driver process printed last: its peak RSS and CPU. */
function reported(running: Running): { maxRss: number; cpuMs: number; digests: string[] } {
  const line = running.stdout().trim().split("\n").at(-1) ?? "{}";
  const parsed = JSON.parse(line.replace(/^done /, "")) as { maxRss?: number; cpuMs?: number; digests?: string[] };
  return { maxRss: parsed.maxRss ?? 0, cpuMs: parsed.cpuMs ?? 0, digests: parsed.digests ?? [] };
}

function reportedRss(running: Running): number {
  return reported(running).maxRss;
}

/** CPU of all `runs` (driver processes), summed. */
function reportedCpu(runs: Running[]): number {
  return runs.reduce((sum, run) => sum + reported(run).cpuMs, 0);
}

/**
 * Reads a ferry-server's peak RSS and the CPU it used since `cpuBefore`, then stops it. With
 * workers, both are of every process: the CPU summed, the RSS the sum of each one's peak.
 */
async function stopMeasured(server: Running, cpuBefore: number): Promise<{ serverRss: number; serverCpuMs: number }> {
  const tree = await processTree(server.child.pid!);
  const serverRss = (await Promise.all(tree.map(peakRss))).reduce((sum, rss) => sum + rss, 0);
  const serverCpuMs = (await treeCpuMs(server.child.pid!)) - cpuBefore;
  server.child.kill("SIGTERM");
  await server.exited;
  return { serverRss, serverCpuMs };
}

/** The client drivers' digest: FERRY_BENCH_DIGEST=blake3 asks for BLAKE3 (protocol.md §4.7). */
const digestEnv = (digest: "sha256" | "blake3"): Record<string, string> => ({ FERRY_BENCH_DIGEST: digest });

async function allExited(runs: Running[]): Promise<void> {
  const codes = await Promise.all(runs.map((r) => r.exited));
  const bad = codes.findIndex((c) => c !== 0);
  if (bad >= 0) throw new Error(`client exited ${codes[bad]}: ${runs[bad]!.stderr()}`);
}

/** Ferry: the real ferry-server binary (fsync on, as shipped) and client-core driver processes. */
export async function runFerry(workload: Workload, runDir: string, backend: Backend = LOCAL, digest: "sha256" | "blake3" = "sha256", workers = 1): Promise<Measurement> {
  const storage = await backend.args(runDir);
  const server = start(process.execPath, [SERVER_BIN, "--port", "0", "--workers", String(workers), ...storage, "--max-clients", "1024", "--max-clients-per-ip", "1024"], backend.env);
  const port = Number((await waitForOutput(server, /listening on [^:]+:(\d+)/))[1]);
  const t0 = performance.now();
  const clients = workload.clients.map((paths) =>
    start(process.execPath, [DRIVER, String(port), String(workload.connectionsPerClient), ...paths], digestEnv(digest)),
  );
  const serverCpuBefore = await treeCpuMs(server.child.pid!);
  await allExited(clients);
  const ms = performance.now() - t0;
  const { serverRss, serverCpuMs } = await stopMeasured(server, serverCpuBefore);
  return { ms, serverRss, clientRss: Math.max(...clients.map(reportedRss)), serverCpuMs, clientCpuMs: reportedCpu(clients) };
}

/**
 * Ferry download (W1): the file is uploaded first, outside the clock, then one client process
 * downloads it; the clock covers that process from start to its verified, renamed file.
 */
export async function runFerryDownload(workload: Workload, runDir: string, digest: "sha256" | "blake3" = "sha256"): Promise<Measurement> {
  const server = start(process.execPath, [SERVER_BIN, "--port", "0", "--workers", "1", "--dir", path.join(runDir, "store")]);
  const port = Number((await waitForOutput(server, /listening on [^:]+:(\d+)/))[1]);
  const file = workload.clients[0]![0]!;
  // Uploaded with the same digest, so the file is recorded as a user of that digest would have it.
  await allExited([start(process.execPath, [DRIVER, String(port), "1", file], digestEnv(digest))]);
  const serverCpuBefore = await treeCpuMs(server.child.pid!);
  const t0 = performance.now();
  const client = start(process.execPath, [DOWNLOAD_DRIVER, String(port), path.basename(file), path.join(runDir, "down")], digestEnv(digest));
  await allExited([client]);
  const ms = performance.now() - t0;
  const { serverRss, serverCpuMs } = await stopMeasured(server, serverCpuBefore);
  return { ms, serverRss, clientRss: reportedRss(client), serverCpuMs, clientCpuMs: reportedCpu([client]) };
}

/**
 * Baseline: minimal Node copy, socket to file, no framing/fsync. With `sha256` (not for W2's
 * concatenated stream) both ends hash every byte, and their digests must agree.
 */
export async function runRawPipe(workload: Workload, runDir: string, sha256 = false): Promise<Measurement> {
  const out = path.join(runDir, "raw");
  await mkdir(out, { recursive: true });
  const concat = workload.id === "W2"; // many small files: one connection, back to back
  if (concat && sha256) throw new Error("raw-pipe-sha256 hashes whole files: not for W2's concatenated stream");
  const connections = concat ? 1 : workload.files;
  const receiver = start(process.execPath, [RAW_RECEIVER, out, String(connections), ...(sha256 ? ["sha256"] : [])]);
  const port = Number((await waitForOutput(receiver, /port (\d+)/))[1]);
  const t0 = performance.now();
  const { readdir } = await import("node:fs/promises");
  const expand = async (p: string): Promise<string[]> =>
    p.endsWith(".bin") ? [p] : (await readdir(p)).sort().map((f) => path.join(p, f));
  const senders = await Promise.all(
    workload.clients.map(async (paths) => {
      const files = (await Promise.all(paths.map(expand))).flat();
      return start(process.execPath, [RAW_SENDER, ...(concat ? ["--concat"] : []), ...(sha256 ? ["--sha256"] : []), String(port), ...files]);
    }),
  );
  await allExited(senders);
  await waitForOutput(receiver, /done/);
  const ms = performance.now() - t0;
  await receiver.exited;
  if (sha256) {
    const sent = senders.flatMap((s) => reported(s).digests).sort();
    const received = reported(receiver).digests.sort();
    if (sent.length !== workload.files || sent.join() !== received.join()) throw new Error(`raw-pipe-sha256: sent ${sent.join(",")} but received ${received.join(",")}`);
  }
  return { ms, serverRss: reportedRss(receiver), clientRss: Math.max(...senders.map(reportedRss)), serverCpuMs: reportedCpu([receiver]), clientCpuMs: reportedCpu(senders) };
}

/** Native reference: netcat-openbsd, one file (W1 only). */
export async function runNetcat(workload: Workload, runDir: string): Promise<Measurement> {
  const port = await freePort();
  const target = path.join(runDir, "nc.out");
  const receiver = start("sh", ["-c", `exec nc -l 127.0.0.1 ${port} > '${target}'`]);
  await new Promise((r) => setTimeout(r, 200)); // nc prints nothing when it listens
  const t0 = performance.now();
  const sender = start("sh", ["-c", `exec nc -N 127.0.0.1 ${port} < '${workload.clients[0]![0]}'`]);
  await allExited([sender, receiver]);
  return { ms: performance.now() - t0, serverRss: null, clientRss: null, serverCpuMs: null, clientCpuMs: null };
}

/**
 * Ferry as users run it (W1, W2): one `ferry send -q PATH` process (the file, or W2's folder), timed
 * from its spawn to its exit, start-up and the folder's LIST included, against the same server.
 */
export async function runFerryCli(workload: Workload, runDir: string): Promise<Measurement> {
  const server = start(process.execPath, [SERVER_BIN, "--port", "0", "--workers", "1", "--dir", path.join(runDir, "store")]);
  const port = Number((await waitForOutput(server, /listening on [^:]+:(\d+)/))[1]);
  const serverCpuBefore = await treeCpuMs(server.child.pid!);
  const t0 = performance.now();
  const client = startWithCpu(process.execPath, [CLIENT_BIN, "send", "-q", "-p", String(port), workload.clients[0]![0]!]);
  await allExited([client]);
  const ms = performance.now() - t0;
  const { serverRss, serverCpuMs } = await stopMeasured(server, serverCpuBefore);
  return { ms, serverRss, clientRss: null, serverCpuMs, clientCpuMs: cpuOfWrapped(client) };
}

/**
 * Sending W2's folder again with nothing changed (issue 15): the `ferry send DIR` CLI process, as
 * users run it, timed on its second run against a server that already holds every file.
 */
export async function runFerryResend(workload: Workload, runDir: string): Promise<Measurement> {
  const server = start(process.execPath, [SERVER_BIN, "--port", "0", "--workers", "1", "--dir", path.join(runDir, "store")]);
  const port = Number((await waitForOutput(server, /listening on [^:]+:(\d+)/))[1]);
  const send = () => start(process.execPath, [CLIENT_BIN, "send", "-q", "-p", String(port), workload.clients[0]![0]!]);
  await allExited([send()]);
  const t0 = performance.now();
  const again = send();
  await allExited([again]);
  const ms = performance.now() - t0;
  if (!/unchanged/.test(again.stdout())) throw new Error(`the second send reported no unchanged file: ${again.stdout().slice(0, 500)}`);
  const serverRss = await peakRss(server.child.pid!);
  server.child.kill("SIGTERM");
  await server.exited;
  return { ms, serverRss, clientRss: null, serverCpuMs: null, clientCpuMs: null };
}

/** rsync's figure for the same: the second `rsync -a` of the unchanged tree to the daemon. */
export function runRsyncResend(workload: Workload, runDir: string): Promise<Measurement> {
  return runRsync(workload, runDir, true);
}

/** Native reference: rsync --daemon on 127.0.0.1 (W1 and W2); `again`: time a second, unchanged run. */
export async function runRsync(workload: Workload, runDir: string, again = false): Promise<Measurement> {
  const port = await freePort();
  const dest = path.join(runDir, "rsync-dest");
  await mkdir(dest, { recursive: true });
  const conf = path.join(runDir, "rsyncd.conf");
  // As root the daemon would drop to "nobody" and fail to write; keep our own ids.
  const { uid, gid } = os.userInfo();
  await writeFile(conf, `use chroot = no\nuid = ${uid}\ngid = ${gid}\n[bench]\n  path = ${dest}\n  read only = no\n`);
  const daemon = start("rsync", ["--daemon", "--no-detach", `--config=${conf}`, `--port=${port}`, "--address=127.0.0.1", "--log-file=/dev/null"]);
  await new Promise((r) => setTimeout(r, 300));
  const source = workload.clients[0]![0]!;
  const args = ["-a", source.endsWith(".bin") ? source : `${source}/`, `rsync://127.0.0.1:${port}/bench/`];
  if (again) await allExited([start("rsync", args)]);
  const daemonCpuBefore = await cpuMs(daemon.child.pid!, true);
  const t0 = performance.now();
  const client = startWithCpu("rsync", args);
  await allExited([client]);
  const ms = performance.now() - t0;
  const serverCpuMs = await daemonCpuAfter(daemon.child.pid!, daemonCpuBefore);
  daemon.child.kill("SIGTERM");
  await daemon.exited;
  await rm(dest, { recursive: true, force: true });
  return { ms, serverRss: null, clientRss: null, serverCpuMs, clientCpuMs: cpuOfWrapped(client) };
}

/**
 * The download reference beside ferry-download (W1): `rsync -a` pulling W1's file from a daemon
 * that serves its folder read-only, timed from the client's start to its exit.
 */
export async function runRsyncDownload(workload: Workload, runDir: string): Promise<Measurement> {
  const port = await freePort();
  const source = workload.clients[0]![0]!;
  const dest = path.join(runDir, "rsync-down");
  await mkdir(dest, { recursive: true });
  const conf = path.join(runDir, "rsyncd.conf");
  const { uid, gid } = os.userInfo();
  await writeFile(conf, `use chroot = no\nuid = ${uid}\ngid = ${gid}\n[bench]\n  path = ${path.dirname(source)}\n  read only = yes\n`);
  const daemon = start("rsync", ["--daemon", "--no-detach", `--config=${conf}`, `--port=${port}`, "--address=127.0.0.1", "--log-file=/dev/null"]);
  await new Promise((r) => setTimeout(r, 300));
  const daemonCpuBefore = await cpuMs(daemon.child.pid!, true);
  const t0 = performance.now();
  const client = startWithCpu("rsync", ["-a", `rsync://127.0.0.1:${port}/bench/${path.basename(source)}`, `${dest}/`]);
  await allExited([client]);
  const ms = performance.now() - t0;
  const serverCpuMs = await daemonCpuAfter(daemon.child.pid!, daemonCpuBefore);
  daemon.child.kill("SIGTERM");
  await daemon.exited;
  await rm(dest, { recursive: true, force: true });
  return { ms, serverRss: null, clientRss: null, serverCpuMs, clientCpuMs: cpuOfWrapped(client) };
}

/** CLI start-up to first byte: spawn `ferry send`, time until the server logs the upload start. */
export async function cliStartupMs(file: string, runDir: string): Promise<number> {
  const server = start(process.execPath, [SERVER_BIN, "--port", "0", "--workers", "1", "--dir", path.join(runDir, "startup")]);
  const port = Number((await waitForOutput(server, /listening on [^:]+:(\d+)/))[1]);
  const t0 = performance.now();
  const client = start(process.execPath, [CLIENT_BIN, "send", "-q", "-p", String(port), file]);
  await waitForOutput(server, /Receiving file from client/);
  const ms = performance.now() - t0;
  await client.exited;
  server.child.kill("SIGTERM");
  await server.exited;
  return ms;
}

/**
 * Runs a native command under sh, which prints its own /proc stat once the command is done: the
 * shell's children times then hold the command's CPU (read with cpuOfWrapped).
 */
function startWithCpu(command: string, args: string[]): Running {
  return start("sh", ["-c", 'cmd="$1"; shift; "$cmd" "$@" || exit $?; cat /proc/$$/stat', "sh", command, ...args]);
}

/** The CPU (ms) of the command startWithCpu ran: the shell's waited-for children times. */
function cpuOfWrapped(running: Running): number | null {
  const ms = statCpuMs(running.stdout().trim().split("\n").at(-1) ?? "", { own: false, children: true });
  return Number.isNaN(ms) ? null : ms;
}

/**
 * The rsync daemon's CPU for the run: its own and its reaped per-connection children's. The daemon
 * reaps the connection's child when it ends; wait until the figure moves (or a little while).
 */
async function daemonCpuAfter(pid: number, before: number): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const now = await cpuMs(pid, true);
    if (now > before) return now - before;
    await new Promise((r) => setTimeout(r, 50));
  }
  return (await cpuMs(pid, true)) - before;
}
