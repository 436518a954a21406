import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FATAL_WIRE_ERROR_CODES, WIRE_ERROR_CODES } from "./error-codes.js";

// docs/protocol.md §8 is the spec other implementations read; it must list every code we send,
// with the same fatal/non-fatal flag.
const spec = readFileSync(new URL("../../../docs/protocol.md", import.meta.url), "utf8");
const table = new Map(
  [...spec.matchAll(/^\| `([A-Z_]+)` \| (yes|no) \|/gm)].map((m) => [m[1]!, m[2] === "yes"] as const),
);

describe("error codes in docs/protocol.md §8", () => {
  it.each(Object.values(WIRE_ERROR_CODES))("%s is listed with its fatal flag", (code) => {
    expect(table.get(code)).toBe(FATAL_WIRE_ERROR_CODES.has(code));
  });

  it("lists no code the implementation does not know", () => {
    expect([...table.keys()].filter((code) => !(code in WIRE_ERROR_CODES))).toEqual([]);
  });
});
