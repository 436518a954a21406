import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createServerLog } from "./logger.js";

let dir: string;
let fds: { out: number; err: number };
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "ferry-logger-"));
  fds = { out: openSync(path.join(dir, "out"), "w"), err: openSync(path.join(dir, "err"), "w") };
});
afterEach(() => {
  closeSync(fds.out);
  closeSync(fds.err);
  rmSync(dir, { recursive: true, force: true });
});

const read = (name: "out" | "err") => readFileSync(path.join(dir, name), "utf8");
const messages = (text: string) => text.split("\n").filter(Boolean).map((line) => line.replace(/^\S+ /, ""));

describe("createServerLog, text", () => {
  it("keeps event lines and logged events in the order they were made, all out by flush()", () => {
    const log = createServerLog("text", fds);
    log.eventLine!("first");
    log.logger.info({ event: "x" }, "second");
    log.eventLine!("third");
    log.logger.warn("a warning");
    log.flush(); // as at exit: nothing waits for the next turn
    expect(messages(read("out"))).toEqual(["first", "second", "third"]);
    expect(read("err")).toBe("a warning\n");
  });

  it("writes what one turn made by the next, without a flush", async () => {
    const log = createServerLog("text", fds);
    for (let i = 0; i < 200; i++) log.eventLine!(`line ${i}`);
    await new Promise<void>((resolve) => {
      const check = () => (messages(read("out")).length === 200 ? resolve() : setTimeout(check, 5));
      check();
    });
    expect(messages(read("out"))).toEqual(Array.from({ length: 200 }, (_, i) => `line ${i}`));
  });
});
