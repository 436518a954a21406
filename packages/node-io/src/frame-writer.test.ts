import type { Socket } from "node:net";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { FrameWriter } from "./frame-writer.js";

/** A writable that records each call it gets: one per writev (corked) or per write. */
function recorder(): { stream: Writable; calls: Buffer[][] } {
  const calls: Buffer[][] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      calls.push([chunk]);
      done();
    },
    writev(chunks, done) {
      calls.push(chunks.map((c) => c.chunk as Buffer));
      done();
    },
  });
  return { stream, calls };
}

describe("FrameWriter", () => {
  it("sends frames written in one tick together, in order, and calls back once each payload is written", async () => {
    const { stream, calls } = recorder();
    const writer = new FrameWriter(stream as unknown as Socket);
    const written: number[] = [];
    writer.write([Buffer.from("h1"), Buffer.from("p1")], () => written.push(1));
    writer.write([Buffer.from("h2"), Buffer.from("p2")], () => written.push(2));
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toHaveLength(1);
    expect(Buffer.concat(calls[0]!).toString()).toBe("h1p1h2p2");
    expect(written).toEqual([1, 2]);
    writer.write([Buffer.from("h3"), Buffer.from("p3")]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toHaveLength(2);
  });
});
