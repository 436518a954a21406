import { describe, expect, it } from "vitest";
import { SendLock } from "./send-lock.js";

describe("SendLock", () => {
  it("hands out turns in request order, one at a time", async () => {
    const lock = new SendLock();
    const log: string[] = [];
    const worker = async (name: string, ms: number) => {
      const release = await lock.acquire();
      log.push(`${name}+`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${name}-`);
      release();
    };
    await Promise.all([worker("a", 30), worker("b", 1), worker("c", 10)]);
    expect(log).toEqual(["a+", "a-", "b+", "b-", "c+", "c-"]);
  });
});
