import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";

/** A child process with its output collected and a promise of its exit. */
export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

export function start(command: string, args: string[], env?: Record<string, string>): Running {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...(env ? { env: { ...process.env, ...env } } : {}) });
  let out = "";
  let err = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Resolves with the first match of `pattern` in the process's stdout. */
export function waitForOutput(running: Running, pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in output: ${running.stdout()} ${running.stderr()}`)), timeoutMs);
    const check = (): void => {
      const match = pattern.exec(running.stdout());
      if (match) {
        clearTimeout(timer);
        running.child.stdout!.off("data", check);
        resolve(match);
      }
    };
    running.child.stdout!.on("data", check);
    check();
    void running.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`exited before ${pattern}: ${running.stderr()}`));
    });
  });
}

/** Peak resident set (VmHWM) of a live process in bytes, from /proc. */
export async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = /VmHWM:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) * 1024 : 0;
}

// /proc times are in clock ticks: USER_HZ, 100 on every Linux architecture Node runs on.
const TICKS_PER_SECOND = 100;

/**
 * CPU time of a live process in ms (user + system), with `children` also that of the children it
 * has waited for (an rsync daemon's per-connection forks, a shell's command), from /proc.
 */
export async function cpuMs(pid: number, children = false): Promise<number> {
  return statCpuMs(await readFile(`/proc/${pid}/stat`, "utf8"), { own: true, children });
}

/**
 * CPU ms from one /proc/<pid>/stat line: the process's own user + system times (fields 14, 15)
 * and/or those of the children it has waited for (16, 17). NaN if the line is not one.
 */
export function statCpuMs(stat: string, which: { own: boolean; children: boolean }): number {
  // Fields after the command name, which is in parentheses and may hold spaces: state is field 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const at = (field: number): number => Number(fields[field - 3]);
  const ticks = (which.own ? at(14) + at(15) : 0) + (which.children ? at(16) + at(17) : 0);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** `pid` and its children (a ferry-server primary's workers), from /proc. */
export async function processTree(pid: number): Promise<number[]> {
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
  return [pid, ...children.split(" ").filter(Boolean).map(Number)];
}

/** CPU ms of `pid` and its live children, summed (a primary and its workers). */
export async function treeCpuMs(pid: number): Promise<number> {
  let total = 0;
  for (const member of await processTree(pid)) total += await cpuMs(member).catch(() => 0);
  return total;
}

export async function hasCommand(name: string): Promise<boolean> {
  const running = start("sh", ["-c", `command -v ${name}`]);
  return (await running.exited) === 0;
}
