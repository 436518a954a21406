import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { MiB } from "./stats.js";

/** One workload of the table, at a given scale. */
export interface Workload {
  id: "W1" | "W2" | "W3" | "W4";
  title: string;
  /** Per client process: the paths it sends (a directory stands for its files). */
  clients: string[][];
  /** Connections each Ferry client opens (W4 opens many from one process). */
  connectionsPerClient: number;
  files: number;
  bytes: number;
}

export interface Scale {
  w1Bytes: number;
  w2Files: number;
  w3Clients: number;
  w3Bytes: number;
  w4Connections: number;
  w4Bytes: number;
}

export const FULL: Scale = { w1Bytes: 1024 * MiB, w2Files: 10_000, w3Clients: 8, w3Bytes: 128 * MiB, w4Connections: 200, w4Bytes: MiB };
export const QUICK: Scale = { w1Bytes: 128 * MiB, w2Files: 2_000, w3Clients: 4, w3Bytes: 16 * MiB, w4Connections: 50, w4Bytes: MiB };

async function randomFile(file: string, size: number): Promise<void> {
  const { open } = await import("node:fs/promises");
  const handle = await open(file, "w");
  try {
    for (let left = size; left > 0; left -= 4 * MiB) await handle.write(randomBytes(Math.min(left, 4 * MiB)));
  } finally {
    await handle.close();
  }
}

/** Creates the source data once under `dir` and describes the four workloads over it. */
export async function prepareWorkloads(dir: string, scale: Scale): Promise<Workload[]> {
  await mkdir(dir, { recursive: true });
  const w1 = path.join(dir, "w1.bin");
  await randomFile(w1, scale.w1Bytes);
  const w2 = path.join(dir, "w2");
  await mkdir(w2);
  for (let i = 0; i < scale.w2Files; i++) await writeFile(path.join(w2, `f${String(i).padStart(5, "0")}.dat`), randomBytes(4096));
  const w3: string[] = [];
  for (let i = 0; i < scale.w3Clients; i++) {
    w3.push(path.join(dir, `w3-${i}.bin`));
    await randomFile(w3[i]!, scale.w3Bytes);
  }
  const w4 = path.join(dir, "w4");
  await mkdir(w4);
  for (let i = 0; i < scale.w4Connections; i++) await writeFile(path.join(w4, `c${String(i).padStart(4, "0")}.bin`), randomBytes(scale.w4Bytes));
  return [
    { id: "W1", title: `one ${scale.w1Bytes / MiB} MiB file`, clients: [[w1]], connectionsPerClient: 1, files: 1, bytes: scale.w1Bytes },
    { id: "W2", title: `${scale.w2Files} files of 4 KiB, upload`, clients: [[w2]], connectionsPerClient: 1, files: scale.w2Files, bytes: scale.w2Files * 4096 },
    {
      id: "W3",
      title: `${scale.w3Clients} clients at once, ${scale.w3Bytes / MiB} MiB each`,
      clients: w3.map((f) => [f]),
      connectionsPerClient: 1,
      files: scale.w3Clients,
      bytes: scale.w3Clients * scale.w3Bytes,
    },
    {
      id: "W4",
      title: `${scale.w4Connections} connections at once, ${scale.w4Bytes / MiB} MiB each`,
      clients: [[w4]],
      connectionsPerClient: scale.w4Connections,
      files: scale.w4Connections,
      bytes: scale.w4Connections * scale.w4Bytes,
    },
  ];
}

/** A TCP port that was free a moment ago (for tools that cannot be told to pick one). */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
