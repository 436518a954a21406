import os from "node:os";
import { MiB, type Summary } from "./stats.js";
import type { ToolName } from "./tools.js";
import type { Workload } from "./workloads.js";

export interface Row {
  workload: Workload;
  tool: ToolName;
  ms: Summary;
  /** MiB/s per run, summarized. */
  rate: Summary;
  serverRss: number | null;
  clientRss: number | null;
  /** Median CPU (user + system, ms) of the serving/receiving side and of the client side(s); null where not measured. */
  serverCpuMs: number | null;
  clientCpuMs: number | null;
}

export interface ReportInput {
  rows: Row[];
  startupMs: Summary | null;
  quick: boolean;
  disk: boolean;
  dataDir: string;
  /** File name of the chart written beside the report (linked from it). */
  chart: string;
  date: Date;
  /** CPU seconds of SHA-256 per GiB on one core, measured in this run (hash-rate.ts); null where not measured. */
  sha256SecondsPerGiB: number | null;
}

const fmt = (n: number, digits = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const mib = (bytes: number | null): string => (bytes === null ? "—" : `${fmt(bytes / MiB)} MiB`);

function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${fmt(os.totalmem() / 1024 ** 3)} GiB RAM, Linux ${os.release()}, Node ${process.version}`;
}

function ratio(row: Row, rows: Row[]): string {
  const base = rows.find((r) => r.workload.id === row.workload.id && r.tool === "raw-pipe");
  if (!base || row.tool === "raw-pipe") return "1.00×";
  return `${(row.rate.median / base.rate.median).toFixed(2)}×`;
}

/** "server / client" CPU seconds, CPU ÷ wall and CPU seconds per GiB moved, or dashes where not measured. */
function cpuCells(row: Row): string {
  if (row.serverCpuMs === null || row.clientCpuMs === null) return "— | — | —";
  const total = row.serverCpuMs + row.clientCpuMs;
  const gib = row.workload.bytes / 1024 ** 3;
  return `${fmt(row.serverCpuMs / 1000, 2)} / ${fmt(row.clientCpuMs / 1000, 2)} | ${fmt(total / row.ms.median, 2)} | ${fmt(total / 1000 / gib, 2)}`;
}

function filesPerSecond(row: Row): number {
  return row.workload.files / (row.ms.median / 1000);
}

/** The targets of the benchmark issue, each with the figure that decides it. */
function targets(input: ReportInput): string[] {
  const get = (id: string, tool: ToolName) => input.rows.find((r) => r.workload.id === id && r.tool === tool);
  const lines: string[] = [];
  const check = (ok: boolean | null, text: string): void => {
    lines.push(`| ${ok === null ? "not measured" : ok ? "met" : "**missed**"} | ${text} |`);
  };
  const w1 = get("W1", "ferry");
  const w1raw = get("W1", "raw-pipe");
  const w1rsync = get("W1", "rsync");
  const w1down = get("W1", "ferry-download");
  const w1rsyncDown = get("W1", "rsync-download");
  if (w1down && w1raw) check(w1down.rate.median >= w1raw.rate.median, `W1 download ${fmt(w1down.rate.median)} MiB/s vs tuned raw Node pipe ${fmt(w1raw.rate.median)} MiB/s (target: never below)`);
  // Downloads are judged against rsync pulling from its daemon (rsync-download), uploads against rsync pushing to it.
  const downRef = w1rsyncDown ?? w1rsync;
  if (w1down && downRef) check(w1down.rate.median >= downRef.rate.median, `W1 download vs rsync ${w1rsyncDown ? "pulling from" : "pushing to"} the daemon ${fmt(downRef.rate.median)} MiB/s (target: at least equal)`);
  if (w1 && w1raw) check(w1.rate.median >= w1raw.rate.median, `W1 upload ${fmt(w1.rate.median)} MiB/s vs tuned raw Node pipe ${fmt(w1raw.rate.median)} MiB/s (target: never below)`);
  check(w1 && w1rsync ? w1.rate.median >= w1rsync.rate.median : null, `W1 upload vs rsync daemon${w1rsync ? ` ${fmt(w1rsync.rate.median)} MiB/s` : ""} (target: at least equal)`);
  // Performance round 2 (issue 17): W1 both ways at 0.8 × rsync, and both processes busy (CPU ÷ wall ≥ 1.7).
  if (w1 && w1rsync) check(w1.rate.median >= 0.8 * w1rsync.rate.median, `W1 upload ${fmt(w1.rate.median)} MiB/s vs 0.8 × rsync daemon = ${fmt(0.8 * w1rsync.rate.median)} MiB/s`);
  if (w1down && w1rsyncDown) check(w1down.rate.median >= 0.8 * w1rsyncDown.rate.median, `W1 download ${fmt(w1down.rate.median)} MiB/s vs 0.8 × rsync pulling = ${fmt(0.8 * w1rsyncDown.rate.median)} MiB/s`);
  // Context, no verdict: what this machine allows a transfer verified with SHA-256 at both ends.
  const w1hashing = get("W1", "raw-pipe-sha256");
  if (w1hashing && w1rsync) {
    const share = (row: Row | undefined, label: string): string => (row ? `; Ferry ${label} ${fmt(row.rate.median / w1hashing.rate.median, 2)} × it` : "");
    lines.push(`| — | W1 through a minimal Node pipe hashing both ends (raw-pipe-sha256) ${fmt(w1hashing.rate.median)} MiB/s = ${fmt(w1hashing.rate.median / w1rsync.rate.median, 2)} × rsync push${share(w1, "upload")}${share(w1down, "download")} |`);
  }
  if (input.sha256SecondsPerGiB !== null) {
    for (const [label, ref] of [["upload", w1rsync], ["download", w1rsyncDown]] as const) {
      const bound = sha256Bound(ref, input.sha256SecondsPerGiB);
      if (ref && bound) lines.push(`| — | ${bound.text} = ${fmt(bound.mibPerSecond / ref.rate.median, 2)} × rsync ${label === "upload" ? "push" : "pull"}: a W1 ${label} verified with SHA-256 at both ends goes no faster here unless it moves bytes more cheaply than rsync |`);
    }
  }
  for (const [label, row] of [["upload", w1], ["download", w1down]] as const) {
    if (row && row.serverCpuMs !== null && row.clientCpuMs !== null) {
      const busy = (row.serverCpuMs + row.clientCpuMs) / row.ms.median;
      check(busy >= 1.7, `W1 ${label} (server + client CPU) ÷ wall ${fmt(busy, 2)} (target: ≥ 1.7)`);
    }
  }
  const w2 = get("W2", "ferry");
  const w2rsync = get("W2", "rsync");
  if (w2) check(filesPerSecond(w2) >= 20_000, `W2 ${fmt(filesPerSecond(w2))} files/s (target: ≥ 20,000)`);
  check(w2 && w2rsync ? filesPerSecond(w2) > filesPerSecond(w2rsync) : null, `W2 vs rsync daemon${w2rsync ? ` ${fmt(filesPerSecond(w2rsync))} files/s` : ""} (target: ahead)`);
  for (const id of ["W3", "W4"]) {
    const w = get(id, "ferry");
    if (w && w1) check(w.rate.median >= 0.8 * w1.rate.median, `${id} aggregate ${fmt(w.rate.median)} MiB/s vs 0.8 × W1 = ${fmt(0.8 * w1.rate.median)} MiB/s`);
    const two = get(id, "ferry-workers-2");
    if (w && two) {
      check(two.rate.median >= 0.95 * w.rate.median, `${id} with 2 workers ${fmt(two.rate.median)} MiB/s vs 0.95 × 1 worker = ${fmt(0.95 * w.rate.median)} MiB/s; ${projection(two)}`);
    }
  }
  // The memory target is per transfer ("whatever the file size"): judged on the one-connection
  // workloads. Many transfers at once (W3, W4) need more, and are shown without a verdict.
  const ferryRows = input.rows.filter((r) => r.tool === "ferry" || r.tool === "ferry-download");
  const peak = (rows: Row[]): number => Math.max(...rows.flatMap((r) => [r.serverRss ?? 0, r.clientRss ?? 0]));
  const single = ferryRows.filter((r) => r.workload.id === "W1" || r.workload.id === "W2");
  if (single.length) check(peak(single) < 100 * MiB, `peak RSS of Ferry's server and client over one connection (W1 upload and download, W2) ${mib(peak(single))} (target: < 100 MiB whatever the file size)`);
  const many = ferryRows.filter((r) => r.workload.id === "W3" || r.workload.id === "W4");
  if (many.length) lines.push(`| — | peak RSS with many transfers at once (W3, W4; no target) ${mib(peak(many))} |`);
  if (input.startupMs) check(input.startupMs.median < 250, `CLI start-up to first byte ${fmt(input.startupMs.median)} ms (target: < 250 ms)`);
  return lines;
}

/**
 * The fastest a transfer with SHA-256 at both ends could go on this machine, calculated (not
 * measured): every core busy all the time, the bytes moved at rsync's own CPU cost per GiB (row
 * `ref`), plus one SHA-256 pass per end at the rate measured in this run.
 */
function sha256Bound(ref: Row | undefined, shaSecondsPerGiB: number): { mibPerSecond: number; text: string } | null {
  if (!ref || ref.serverCpuMs === null || ref.clientCpuMs === null) return null;
  const cores = os.availableParallelism();
  const moveSecondsPerGiB = (ref.serverCpuMs + ref.clientCpuMs) / 1000 / (ref.workload.bytes / 1024 ** 3);
  const mibPerSecond = (cores * 1024) / (moveSecondsPerGiB + 2 * shaSecondsPerGiB);
  return {
    mibPerSecond,
    text: `bound with SHA-256 at both ends: ${cores} cores ÷ (${ref.tool}'s ${fmt(moveSecondsPerGiB, 2)} CPU s per GiB + 2 × ${fmt(shaSecondsPerGiB, 2)} s of SHA-256 per GiB) = ${fmt(mibPerSecond)} MiB/s`,
  };
}

/** A 25 Gbit/s link carries at most this many MiB/s of payload (before TCP/IP overhead). */
const LINK_25G_MIB = (25e9 / 8) / MiB;

/**
 * What 16 workers on 16 cores would move, calculated (not measured) from this row's server CPU per
 * byte: each worker as busy as a core, clients on other machines; capped by a 25 Gbit/s link.
 */
function projection(row: Row): string {
  if (row.serverCpuMs === null || row.serverCpuMs === 0) return "16-core projection: no server CPU measured";
  const perCore = row.workload.bytes / MiB / (row.serverCpuMs / 1000);
  const cores16 = 16 * perCore;
  return `16-core projection (calculated from ${fmt(perCore)} MiB per server CPU-second): ${fmt(cores16)} MiB/s of server CPU, so ${cores16 > LINK_25G_MIB ? `link-bound at ${fmt(LINK_25G_MIB)} MiB/s (25 Gbit/s)` : "CPU-bound"}`;
}

/** docs/benchmarks.md: where, what, the table, the chart, and the targets. */
export function renderMarkdown(input: ReportInput): string {
  const { rows } = input;
  const table = rows.map(
    (r) =>
      `| ${r.workload.id} ${r.workload.title} | ${r.tool} | ${fmt(r.rate.median)} (${fmt(r.rate.min)}–${fmt(r.rate.max)}) | ${fmt(filesPerSecond(r))} | ${fmt(r.ms.median)} | ${mib(r.serverRss)} | ${mib(r.clientRss)} | ${cpuCells(r)} | ${ratio(r, rows)} |`,
  );
  return `# Benchmarks

Generated by \`pnpm bench${input.quick ? " --quick" : ""}${input.disk ? " --disk" : ""}\` on ${input.date.toISOString().slice(0, 10)}.
Do not edit by hand: run the bench again.

- Machine: ${machine()}.${input.sha256SecondsPerGiB === null ? "" : ` Node's SHA-256 on one core, measured in this run: ${fmt(1024 / input.sha256SecondsPerGiB)} MiB/s.`}
- Data: ${input.disk ? "on disk" : "RAM-backed"} (\`${input.dataDir}\`); loopback TCP; ${rows[0]?.ms.runs ?? 0} runs per figure, median with min–max.
- Ferry runs as shipped: \`ferry-server\` (one process, \`--workers 1\`, but for ferry-workers-2) with fsync before publish, SHA-256 verified on both ends; clients are
  separate processes using \`@ferry/client-core\`. Wall time runs from starting the client processes to the last
  confirmation (Ferry) or to the receiver closing its file (others), so every figure includes process start-up.
- raw-pipe: a minimal Node server and client written for the bench that copy file → socket → file with 1 MiB
  buffers, no framing, no hashing, no fsync. For W2 it sends all files back to back on one connection and writes
  one file, so it is a lower bound, not a file transfer.
- raw-pipe-sha256 (W1): the same raw pipe with both ends computing the SHA-256 of every byte (their digests must
  agree): a minimal SHA-256-verified transfer written in Node (not a hard floor: Ferry's download beats it). Targets compares Ferry with it.
- nc (netcat-openbsd) and rsync --daemon run where installed; the bench never installs them.
- ferry-cluster (with \`--backend cluster\`): the same \`ferry-server\` over a loopback OpenStack Swift (S3 API, one
  replica, on disk) and PostgreSQL started by scripts/swift.sh and scripts/postgres.sh, a fresh bucket and schema per run.
- ferry-resend / rsync-resend (W2): the same folder sent a second time with nothing changed, timed on
  that second run: the \`ferry send DIR\` CLI process (one LIST, local hashes, no file bytes) against
  \`rsync -a\` to the daemon. Their MiB/s is the tree's size over the time; no file byte moves.
- ferry-download: W1's file is uploaded first (not timed), then one client process downloads it (verified,
  fsynced, renamed into place). The raw pipe is symmetric, so its upload figure is the baseline for both.
- rsync-download (W1): \`rsync -a\` pulling W1's file from a daemon serving its folder read-only: the
  download reference beside ferry-download.
- ferry-cli (W1, W2): \`ferry send -q PATH\` as users run it, one process timed from spawn to exit (start-up,
  and for W2's folder the LIST that finds unchanged files, included), against the same \`ferry-server\`.
- ferry-workers-2 (W3, W4): the same server with \`--workers 2\` (a primary and two workers; every other Ferry
  row runs \`--workers 1\`). Its server CPU is every process's, summed; its server RSS the sum of each one's peak.
- ferry-blake3 / ferry-blake3-download (W1): the same runs with the clients asking for BLAKE3
  (\`--digest blake3\`, protocol.md §4.7); the file is recorded with its BLAKE3.
- CPU: user + system seconds, medians. Server: the \`ferry-server\` process over the timed part (from
  /proc), the raw receiver, or the rsync daemon with its per-connection children. Client: the driver
  processes (summed), the raw senders, or the rsync client. CPU ÷ wall above 1 means both sides were
  busy at once; CPU s per GiB is (server + client) over the bytes moved. nc: not measured.

| workload | tool | MiB/s median (min–max) | files/s | wall ms | server peak RSS | client peak RSS | CPU s server / client | CPU ÷ wall | CPU s per GiB | vs raw pipe |
|---|---|---|---|---|---|---|---|---|---|---|
${table.join("\n")}

${input.startupMs ? `CLI start-up to first byte (\`ferry send\` spawned → server logs the upload start): median ${fmt(input.startupMs.median)} ms (${fmt(input.startupMs.min)}–${fmt(input.startupMs.max)}).\n` : ""}
![throughput chart](${input.chart})

## Targets

| status | figure |
|---|---|
${targets(input).join("\n")}

Where a target is missed, why (CPU budgets, profiles, what was tried): [performance.md](performance.md).
`;
}

/** A horizontal bar chart of median MiB/s per workload and tool. */
export function renderSvg(rows: Row[]): string {
  const barHeight = 18;
  const gap = 6;
  const left = 210;
  const width = 760;
  const max = Math.max(...rows.map((r) => r.rate.median), 1);
  const colors: Record<ToolName, string> = { ferry: "#2b6cb0", "ferry-cli": "#3182ce", "ferry-workers-2": "#1a365d", "ferry-blake3": "#2c5282", "ferry-blake3-download": "#90cdf4", "ferry-cluster": "#805ad5", "ferry-resend": "#4299e1", "rsync-resend": "#ecc94b", "ferry-download": "#63b3ed", "raw-pipe": "#718096", "raw-pipe-sha256": "#a0aec0", nc: "#38a169", rsync: "#d69e2e", "rsync-download": "#b7791f" };
  const bars = rows.map((r, i) => {
    const y = 30 + i * (barHeight + gap);
    const w = Math.max(1, ((width - left - 90) * r.rate.median) / max);
    return `<text x="${left - 8}" y="${y + 13}" text-anchor="end" font-size="12">${r.workload.id} ${r.tool}</text>
<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${colors[r.tool]}"/>
<text x="${(left + w + 6).toFixed(1)}" y="${y + 13}" font-size="12">${fmt(r.rate.median)} MiB/s</text>`;
  });
  const height = 40 + rows.length * (barHeight + gap);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="18" font-size="14" font-weight="bold">Median throughput, MiB/s (higher is better)</text>
${bars.join("\n")}
</svg>
`;
}
