// `pnpm bench`: Ferry side by side with a tuned raw TCP pipe (and nc / rsync --daemon when
// installed) on loopback; writes docs/benchmarks.md and docs/benchmarks.svg.
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { sha256SecondsPerGiB } from "./hash-rate.js";
import { hasCommand } from "./processes.js";
import { renderMarkdown, renderSvg, type Row } from "./report.js";
import { mibPerSecond, summarize, type Summary } from "./stats.js";
import { startClusterServices, type ClusterServices } from "./cluster-services.js";
import { cliStartupMs, LOCAL, runFerryCli, runFerryResend, runRsyncResend, runFerry, runFerryDownload, runNetcat, runRawPipe, runRsync, runRsyncDownload, type Measurement, type ToolName } from "./tools.js";
import { FULL, QUICK, prepareWorkloads, type Workload } from "./workloads.js";

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: {
    quick: { type: "boolean", default: false },
    disk: { type: "boolean", default: false },
    runs: { type: "string" },
    only: { type: "string" },
    out: { type: "string" },
    backend: { type: "string", default: "local" },
  },
});
const quick = values.quick!;
const runs = Number(values.runs ?? (quick ? 1 : 3));
const only = values.only?.split(",");
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
// --out is relative to where `pnpm bench` was typed (pnpm runs us from packages/bench; INIT_CWD is the caller's).
const outFile = values.out ? path.resolve(process.env.INIT_CWD ?? process.cwd(), values.out) : path.join(repoRoot, "docs/benchmarks.md");
const dataRoot = values.disk ? os.tmpdir() : existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();

if (values.backend !== "local" && values.backend !== "cluster") throw new Error(`--backend: local or cluster, not ${values.backend}`);
// --backend cluster adds ferry over Swift + PostgreSQL (W1–W3) beside the local rows, in the same run.
const cluster: ClusterServices | null = values.backend === "cluster" ? await startClusterServices() : null;

const runners: Record<ToolName, (w: Workload, dir: string) => Promise<Measurement>> = {
  ferry: (w, dir) => runFerry(w, dir),
  "ferry-blake3": (w, dir) => runFerry(w, dir, LOCAL, "blake3"),
  "ferry-cli": runFerryCli,
  "ferry-workers-2": (w, dir) => runFerry(w, dir, LOCAL, "sha256", 2),
  "ferry-cluster": (w, dir) => runFerry(w, dir, { args: () => cluster!.freshStore(), env: cluster!.env }),
  "ferry-download": (w, dir) => runFerryDownload(w, dir),
  "ferry-blake3-download": (w, dir) => runFerryDownload(w, dir, "blake3"),
  "raw-pipe": (w, dir) => runRawPipe(w, dir),
  "raw-pipe-sha256": (w, dir) => runRawPipe(w, dir, true),
  nc: runNetcat,
  rsync: runRsync,
  "rsync-download": runRsyncDownload,
  "ferry-resend": runFerryResend,
  "rsync-resend": runRsyncResend,
};

const base = await mkdtemp(path.join(dataRoot, "ferry-bench-"));
try {
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  log(`preparing data in ${base} (${quick ? "quick" : "full"} scale)…`);
  const workloads = (await prepareWorkloads(path.join(base, "src"), quick ? QUICK : FULL)).filter((w) => !only || only.includes(w.id));
  const haveNc = await hasCommand("nc");
  const haveRsync = await hasCommand("rsync");
  if (!haveNc) log("nc not installed: skipping the netcat reference");
  if (!haveRsync) log("rsync not installed: skipping the rsync --daemon reference");
  // Before the workloads, on an idle machine: the rate the W1 bound with SHA-256 at both ends is calculated from.
  const shaSeconds = workloads.some((w) => w.id === "W1") ? sha256SecondsPerGiB() : null;
  const rows: Row[] = [];
  for (const workload of workloads) {
    // W1 also with --digest blake3 both ways (protocol.md §4.7): what the opt-in buys, in the same run.
    // raw-pipe-sha256 (W1): the raw pipe hashing both ends, a minimal SHA-256-verified transfer in Node.
    // ferry-cli (W1, W2): the `ferry send` process users run, start-up included, beside the library driver.
    // ferry-workers-2 (W3, W4): the same server with --workers 2 beside --workers 1, for many connections at once.
    const tools: ToolName[] =
      workload.id === "W1" ? ["ferry", "ferry-cli", "ferry-blake3", "ferry-download", "ferry-blake3-download", "raw-pipe", "raw-pipe-sha256"] : workload.id === "W2" ? ["ferry", "ferry-cli", "raw-pipe"] : ["ferry", "ferry-workers-2", "raw-pipe"];
    if (haveNc && workload.id === "W1") tools.push("nc");
    if (haveRsync && (workload.id === "W1" || workload.id === "W2")) tools.push("rsync");
    if (haveRsync && workload.id === "W1") tools.push("rsync-download");
    if (workload.id === "W2") tools.push("ferry-resend", ...(haveRsync ? (["rsync-resend"] as const) : []));
    if (cluster && ["W1", "W2", "W3"].includes(workload.id)) tools.splice(1, 0, "ferry-cluster");
    for (const tool of tools) {
      const measured: Measurement[] = [];
      for (let i = 0; i < runs; i++) {
        const runDir = await mkdtemp(path.join(base, "run-"));
        try {
          measured.push(await runners[tool](workload, runDir));
        } finally {
          await rm(runDir, { recursive: true, force: true });
        }
      }
      const ms = summarize(measured.map((m) => m.ms));
      const rate = summarize(measured.map((m) => mibPerSecond(workload.bytes, m.ms)));
      const peak = (pick: (m: Measurement) => number | null): number | null => {
        const known = measured.map(pick).filter((v): v is number => v !== null);
        return known.length ? Math.max(...known) : null;
      };
      const cpu = (pick: (m: Measurement) => number | null): number | null => {
        const known = measured.map(pick).filter((v): v is number => v !== null);
        return known.length === measured.length ? summarize(known).median : null;
      };
      rows.push({ workload, tool, ms, rate, serverRss: peak((m) => m.serverRss), clientRss: peak((m) => m.clientRss), serverCpuMs: cpu((m) => m.serverCpuMs), clientCpuMs: cpu((m) => m.clientCpuMs) });
      log(`${workload.id} ${tool.padEnd(8)} ${rate.median.toFixed(0).padStart(6)} MiB/s  ${(workload.files / (ms.median / 1000)).toFixed(0).padStart(7)} files/s`);
    }
  }
  let startupMs: Summary | null = null;
  if (!only || only.includes("startup")) {
    const small = path.join(base, "startup.txt");
    await writeFile(small, "first byte\n");
    const samples: number[] = [];
    for (let i = 0; i < Math.max(3, runs); i++) {
      const runDir = await mkdtemp(path.join(base, "run-"));
      samples.push(await cliStartupMs(small, runDir));
      await rm(runDir, { recursive: true, force: true });
    }
    startupMs = summarize(samples);
    log(`CLI start-up to first byte: ${startupMs.median.toFixed(0)} ms`);
  }
  const chartFile = outFile.replace(/(\.md)?$/, ".svg");
  const input = { rows, startupMs, sha256SecondsPerGiB: shaSeconds, quick, disk: Boolean(values.disk), dataDir: dataRoot, date: new Date(), chart: path.basename(chartFile) };
  await writeFile(outFile, renderMarkdown(input));
  await writeFile(chartFile, renderSvg(rows));
  log(`wrote ${outFile}`);
} finally {
  await rm(base, { recursive: true, force: true });
  await cluster?.stop();
}
