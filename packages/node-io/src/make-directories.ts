import { mkdirSync } from "node:fs";
import path from "node:path";

/**
 * `mkdir -p`: creates `dir` and its missing parents. Not `mkdirSync(dir, { recursive: true })`:
 * Node 20's recursive mkdir never returns for a path under /proc (`/proc/nope` spins at 100% CPU),
 * so a typo in a storage dir or an output dir hung the command instead of failing it. Each level is
 * one plain mkdir(2); the error of the first level that cannot be made is thrown as is (ENOENT,
 * EACCES, ENOTDIR…). Synchronous: a handful of metadata calls (docs/performance.md, "Synchronous
 * metadata calls").
 */
export function makeDirectories(dir: string, mode = 0o755): void {
  const missing: string[] = [];
  for (let at = path.resolve(dir); ; ) {
    try {
      mkdirSync(at, { mode });
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") break;
      const parent = path.dirname(at);
      if (code !== "ENOENT" || parent === at) throw error;
      missing.push(at);
      at = parent;
    }
  }
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}
