import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { textPerTurn } from "./turn-text.js";

describe("textPerTurn", () => {
  it("hands one turn's text over in one write, after the turn", async () => {
    const writes: string[] = [];
    const text = textPerTurn((t) => writes.push(t));
    text.write("a\n");
    text.write("b\n");
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual(["a\nb\n"]);
    text.write("c\n");
    await nextTurn();
    expect(writes).toEqual(["a\nb\n", "c\n"]);
  });

  it("flush() writes what waits at once, and nothing when nothing waits", async () => {
    const writes: string[] = [];
    const text = textPerTurn((t) => writes.push(t));
    text.flush();
    text.write("last\n");
    text.flush();
    await nextTurn();
    expect(writes).toEqual(["last\n"]);
  });

  it("writes once 64 KiB wait, without waiting for the turn to end", () => {
    const writes: string[] = [];
    const text = textPerTurn((t) => writes.push(t));
    for (let i = 0; i < 64; i++) text.write(`${"x".repeat(1023)}\n`);
    expect(writes.map((w) => w.length)).toEqual([64 * 1024]);
  });
});
