import { describe, expect, it } from "vitest";
import { mibPerSecond, summarize } from "./stats.js";

describe("summarize", () => {
  it("takes the middle value of an odd sample and the mean of the middle two of an even one", () => {
    expect(summarize([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, runs: 3 });
    expect(summarize([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4, runs: 4 });
  });

  it("refuses an empty sample", () => {
    expect(() => summarize([])).toThrow();
  });

  it("converts bytes and milliseconds to MiB/s", () => {
    expect(mibPerSecond(10 * 1024 * 1024, 2000)).toBe(5);
  });
});
