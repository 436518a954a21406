import { describe, expect, it } from "vitest";
import { ServerError } from "@ferry/server-core";
import { channelPair, RpcPeer } from "./rpc.js";

describe("RpcPeer", () => {
  it("answers calls both ways, and a ServerError keeps its code across", async () => {
    const [left, right] = channelPair();
    const primary = new RpcPeer(left).handle("add", (a: number, b: number) => a + b).handle("refuse", () => {
      throw new ServerError("this upload is being sent on another connection", { code: "IN_PROGRESS" });
    });
    const worker = new RpcPeer(right).handle("echo", async (text: string) => text);
    expect(await worker.call("add", 2, 3)).toBe(5);
    expect(await primary.call("echo", "back")).toBe("back");
    await expect(worker.call("refuse")).rejects.toMatchObject({ code: "IN_PROGRESS", message: "this upload is being sent on another connection" });
  });

  it("reports an unexpected exception as INTERNAL, and an unknown method too", async () => {
    const [left, right] = channelPair();
    new RpcPeer(left).handle("broken", () => {
      throw new TypeError("x is undefined");
    });
    const worker = new RpcPeer(right);
    await expect(worker.call("broken")).rejects.toMatchObject({ code: "INTERNAL", message: "x is undefined" });
    await expect(worker.call("missing")).rejects.toMatchObject({ code: "INTERNAL" });
  });

  it("keeps notes in order with calls", async () => {
    const [left, right] = channelPair();
    const seen: number[] = [];
    new RpcPeer(left).handle("note", (n: number) => void seen.push(n)).handle("seen", () => seen);
    const worker = new RpcPeer(right);
    for (let n = 0; n < 5; n++) worker.note("note", n);
    expect(await worker.call("seen")).toEqual([0, 1, 2, 3, 4]);
  });

  it("fails calls waiting and later once closed: the other process is gone", async () => {
    const [, right] = channelPair();
    const worker = new RpcPeer(right);
    const waiting = worker.call("never-answered");
    worker.close(new ServerError("worker 1 is gone", { code: "INTERNAL" }));
    await expect(waiting).rejects.toMatchObject({ code: "INTERNAL" });
    await expect(worker.call("later")).rejects.toMatchObject({ code: "INTERNAL" });
  });
});
