import { describe, expect, it } from "vitest";
import { encodePreamble, matchPreamble } from "./preamble.js";

// 0x89 "FERRY" then version 1 as big-endian u16, written out by hand.
const V1 = Buffer.from([0x89, 0x46, 0x45, 0x52, 0x52, 0x59, 0x00, 0x01]);

describe("preamble", () => {
  it("encodes v1 as the spec's eight bytes", () => {
    expect(encodePreamble()).toEqual(V1);
    expect(encodePreamble(0x0102)).toEqual(Buffer.from([0x89, 0x46, 0x45, 0x52, 0x52, 0x59, 0x01, 0x02]));
  });

  it("recognises Ferry at any prefix length", () => {
    for (let n = 0; n < V1.length; n++) expect(matchPreamble(V1.subarray(0, n))).toEqual({ status: "incomplete" });
    expect(matchPreamble(V1)).toEqual({ status: "ferry", version: 1 });
    expect(matchPreamble(Buffer.concat([V1, Buffer.from("extra")]))).toEqual({ status: "ferry", version: 1 });
  });

  it.each([
    ["text file", "hello world"],
    ["empty-ish newline", "\n"],
    ["magic byte then text", "\x89PNG"],
    ["almost magic", "\x89FERRX"],
  ])("classifies %s as not Ferry", (_name, head) => {
    expect(matchPreamble(Buffer.from(head, "latin1"))).toEqual({ status: "not-ferry" });
  });

  it("reports another version so the server can refuse it", () => {
    expect(matchPreamble(Buffer.from([0x89, 0x46, 0x45, 0x52, 0x52, 0x59, 0x00, 0x02]))).toEqual({
      status: "ferry",
      version: 2,
    });
  });
});
