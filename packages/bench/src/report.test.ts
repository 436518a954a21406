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
  renderMarkdown({ rows, startupMs: null, quick: false, disk: false, dataDir: "/dev/shm", date: new Date(0), chart: "custom.svg" });

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

  it("calls the memory target missed when one connection passes 100 MiB", () => {
    expect(render([row("W1", "ferry", 4000, 90), row("W1", "ferry-download", 3000, 104)])).toContain("| **missed** | peak RSS of Ferry's server and client over one connection");
  });
});
