import { describe, expect, it } from "vitest";
import type { ClientMessage } from "@ferry/protocol";
import { ClientError } from "./errors.js";
import { Request, type RequestWire } from "./request.js";
import { SendLock } from "./send-lock.js";

/** A wire that records what requests send, forget and kill. */
function fakeWire() {
  const log: string[] = [];
  const wire: RequestWire = {
    lock: new SendLock(),
    alive: true,
    send: (message: ClientMessage) => void log.push(`send ${message.type}${"id" in message ? ` ${message.id}` : ""}`),
    writeFrame: () => void log.push("data"),
    forget: (id) => void log.push(`forget ${id}`),
    die: (error) => void log.push(`die ${error.code}`),
  };
  return { wire, log };
}
const answer = { onMessage: () => ({ kind: "done" as const, value: "ok" }) };

describe("Request", () => {
  it("takes turns: the next request sends only after the first is done sending", async () => {
    const { wire, log } = fakeWire();
    const first = new Request(wire, 1, answer);
    const second = new Request(wire, 2, answer);
    await first.turn();
    const secondTurn = second.turn().then(() => log.push("second's turn"));
    first.send({ type: "put", id: 1, name: "a", size: 1 });
    first.sendFrame([Buffer.alloc(5), Buffer.alloc(1)]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(["send put 1", "data"]);
    first.doneSending();
    await secondTurn;
    expect(log.at(-1)).toBe("second's turn");
  });

  it("abandoned mid-send: CANCEL, turn released, answer forgotten", async () => {
    const { wire, log } = fakeWire();
    const request = new Request(wire, 7, answer);
    await request.turn();
    request.send({ type: "put", id: 7, name: "a", size: 9 });
    request.abandon();
    expect(log).toEqual(["send put 7", "send cancel 7", "forget 7"]);
    await wire.lock.acquire(); // released: does not hang
  });

  it("abandoned with hangUp: the connection is ended instead (a resumable partial stays on the server)", async () => {
    const { wire, log } = fakeWire();
    const request = new Request(wire, 3, answer);
    await request.turn();
    request.send({ type: "put", id: 3, name: "a", size: 9 });
    request.abandon({ hangUp: new ClientError("aborted", { code: "ABORTED" }) });
    expect(log).toEqual(["send put 3", "die ABORTED", "forget 3"]);
  });

  it("abandoned before any frame left: nothing to cancel; abandoned while queued: never sends", async () => {
    const { wire, log } = fakeWire();
    const holding = new Request(wire, 1, answer);
    const queued = new Request(wire, 2, answer);
    await holding.turn();
    const waiting = queued.turn();
    queued.abandon();
    holding.abandon();
    await waiting;
    expect(log).toEqual(["forget 2", "forget 1"]);
    expect(() => queued.send({ type: "cancel", id: 2 })).toThrow(expect.objectContaining({ code: "BAD_STATE" }) as Error);
    await wire.lock.acquire(); // both turns released
  });

  it("an ERROR for its id refuses it; a handler's failure fails it; either way it is settled", async () => {
    const { wire } = fakeWire();
    const refused = new Request(wire, 1, answer);
    expect(refused.deliver({ type: "error", id: 1, code: "BAD_NAME", message: "no" })).toBe(true);
    expect(refused.settled).toBe(true);
    expect(refused.refusal?.code).toBe("BAD_NAME");
    await expect(refused.answer).rejects.toMatchObject({ code: "BAD_NAME" });
    const failing = new Request(wire, 2, { onMessage: () => ({ kind: "failed" as const, error: new ClientError("bad", { code: "CHECKSUM_MISMATCH" }) }) });
    expect(failing.deliver({ type: "get_end", id: 2, sha256: "0".repeat(64) })).toBe(true);
    await expect(failing.answer).rejects.toMatchObject({ code: "CHECKSUM_MISMATCH" });
    const streaming = new Request(wire, 3, { onMessage: () => ({ kind: "more" as const }) });
    expect(streaming.deliver({ type: "get_begin", id: 3, name: "a", size: 1 })).toBe(false);
    expect(streaming.settled).toBe(false);
  });
});
