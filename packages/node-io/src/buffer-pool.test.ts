import { describe, expect, it } from "vitest";
import { BufferPool } from "./buffer-pool.js";

describe("BufferPool", () => {
  it("makes at most `count` buffers and reuses released ones", async () => {
    const pool = new BufferPool(2, 16);
    const a = await pool.take();
    const b = await pool.take();
    expect(a.length).toBe(16);
    expect(a.buffer).not.toBe(b.buffer);
    pool.release(a);
    expect(await pool.take()).toBe(a);
  });

  it("makes a taker wait while every buffer is out, then hands it the next one released", async () => {
    const pool = new BufferPool(1, 8);
    const only = await pool.take();
    let got: Buffer | undefined;
    const waiting = pool.take().then((buffer) => (got = buffer));
    await new Promise((r) => setImmediate(r));
    expect(got).toBeUndefined();
    pool.release(only);
    expect(await waiting).toBe(only);
  });
});
