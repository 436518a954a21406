import { describe, expect, it } from "vitest";
import { statCpuMs } from "./processes.js";

describe("statCpuMs", () => {
  // pid (comm with spaces) state ppid … utime=250 stime=50 cutime=30 cstime=20 (fields 14–17, in ticks of 10 ms)
  const line = "4242 (rsync --daemon x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 30 20 20 0 1 0 100 1000 200 18446744073709551615";

  it("reads the own and the waited-for children's user + system times past a command name with spaces", () => {
    expect(statCpuMs(line, { own: true, children: false })).toBe(3000);
    expect(statCpuMs(line, { own: false, children: true })).toBe(500);
    expect(statCpuMs(line, { own: true, children: true })).toBe(3500);
  });

  it("gives NaN for a line that is not a stat line (a wrapped command that printed nothing)", () => {
    expect(statCpuMs("", { own: false, children: true })).toBeNaN();
  });
});
