import os from "node:os";
import { describe, expect, it } from "vitest";
import { renderMarkdown, type Row } from "./report.js";
import { MiB, summarize } from "./stats.js";
import type { Workload } from "./workloads.js";

const workload = (id: Workload["id"], files = 1): Workload => ({ id, title: id, clients: [], connectionsPerClient: 1, files, bytes: 1024 * MiB });
const row = (id: Workload["id"], tool: Row["tool"], ms: number, rssMiB: number): Row => ({
  workload: workload(id),
  tool,
  ms: summarize([ms]),
  rate: summarize([(1024 * 1000) / ms]),
  serverRss: rssMiB * MiB,
  clientRss: rssMiB * MiB,
  serverCpuMs: ms / 2,
  clientCpuMs: ms / 4,
});
const render = (rows: Row[]) =>
  renderMarkdown({ rows, startupMs: null, sha256SecondsPerGiB: null, quick: false, disk: false, dataDir: "/dev/shm", date: new Date(0), chart: "custom.svg" });

describe("renderMarkdown", () => {
  it("links the chart it was given", () => {
    expect(render([row("W1", "ferry", 4000, 90)])).toContain("![throughput chart](custom.svg)");
  });

  it("judges memory on the one-connection workloads and only shows the many-transfer peak", () => {
    const text = render([row("W1", "ferry", 4000, 90), row("W1", "ferry-download", 3000, 95), row("W3", "ferry", 4000, 150)]);
    expect(text).toContain("| met | peak RSS of Ferry's server and client over one connection (W1 upload and download, W2) 95 MiB");
    expect(text).toContain("| — | peak RSS with many transfers at once (W3, W4; no target) 150 MiB |");
  });

  it("prints CPU seconds per side, CPU ÷ wall and CPU seconds per GiB", () => {
    // 4 s wall, 2 s server + 1 s client CPU, 1 GiB moved.
    expect(render([row("W1", "ferry", 4000, 90)])).toContain("| 2.00 / 1.00 | 0.75 | 3.00 |");
  });

  it("sets Ferry's W1 against the raw pipe hashing both ends, and that pipe against rsync", () => {
    // 1 GiB: rsync in 1 s (1,024 MiB/s), the hashing raw pipe in 2 s, Ferry up in 2.5 s and down in 4 s.
    const text = render([row("W1", "ferry", 2500, 90), row("W1", "ferry-download", 4000, 90), row("W1", "raw-pipe-sha256", 2000, 80), row("W1", "rsync", 1000, 10)]);
    expect(text).toContain("| — | W1 through a minimal Node pipe hashing both ends (raw-pipe-sha256) 512 MiB/s = 0.50 × rsync push; Ferry upload 0.80 × it; Ferry download 0.50 × it |");
  });

  it("calculates the W1 bound with SHA-256 at both ends from rsync's CPU per GiB and the measured hash rate", () => {
    // rsync: 1 s wall, 0.5 + 0.25 = 0.75 CPU s per GiB; SHA-256 0.5 s per GiB at each end: 1.75 s per GiB in all.
    const rows = [row("W1", "rsync", 1000, 10)];
    const text = renderMarkdown({ rows, startupMs: null, sha256SecondsPerGiB: 0.5, quick: false, disk: false, dataDir: "/dev/shm", date: new Date(0), chart: "c.svg" });
    const cores = os.availableParallelism();
    const bound = (cores * 1024) / 1.75;
    const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
    expect(text).toContain(`bound with SHA-256 at both ends: ${cores} cores ÷ (rsync's 0.75 CPU s per GiB + 2 × 0.50 s of SHA-256 per GiB) = ${fmt(bound)} MiB/s = ${fmt(bound / 1024, 2)} × rsync push`);
    expect(text).toContain("Node's SHA-256 on one core, measured in this run: 2,048 MiB/s.");
  });

  it("calls the memory target missed when one connection passes 100 MiB", () => {
    expect(render([row("W1", "ferry", 4000, 90), row("W1", "ferry-download", 3000, 104)])).toContain("| **missed** | peak RSS of Ferry's server and client over one connection");
  });
});
