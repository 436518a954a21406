import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { TerminalLines } from "./terminal-lines.js";

/** One shared log of writes, as a terminal or `2>&1` shows them. */
function sinks() {
  const writes: { to: "out" | "err"; text: string }[] = [];
  const lines = new TerminalLines({ write: (text: string) => writes.push({ to: "out", text }) }, { write: (text: string) => writes.push({ to: "err", text }) });
  return { lines, writes };
}

describe("TerminalLines", () => {
  it("writes a turn's stdout lines together, once the turn is over", async () => {
    const { lines, writes } = sinks();
    lines.out("stored a");
    lines.out("stored b");
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual([{ to: "out", text: "stored a\nstored b\n" }]);
    lines.out("stored c");
    await nextTurn();
    expect(writes.at(-1)).toEqual({ to: "out", text: "stored c\n" });
  });

  it("writes stdout's pending lines before a stderr line, so a shared terminal shows them in order", () => {
    const { lines, writes } = sinks();
    lines.out("stored a");
    lines.err("ferry: b: no such file");
    lines.out("stored c");
    lines.flush();
    expect(writes).toEqual([
      { to: "out", text: "stored a\n" },
      { to: "err", text: "ferry: b: no such file\n" },
      { to: "out", text: "stored c\n" },
    ]);
  });

  it("flush() leaves nothing pending (the exit path) and writes nothing when nothing is pending", async () => {
    const { lines, writes } = sinks();
    lines.flush();
    expect(writes).toEqual([]);
    lines.out("summary");
    lines.flush();
    await nextTurn();
    expect(writes).toEqual([{ to: "out", text: "summary\n" }]);
  });

  it("does not hold a long turn's output whole: it writes once 64 KiB are pending", () => {
    const { lines, writes } = sinks();
    const line = "x".repeat(1023);
    for (let i = 0; i < 64; i++) lines.out(line);
    expect(writes).toHaveLength(1);
    expect(writes[0]!.text.length).toBe(64 * 1024);
  });
});
