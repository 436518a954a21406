import { describe, expect, it } from "vitest";
import { digestByAlgorithm, formatBytes, formatDigest, formatDuration, formatRate, printable } from "./format.js";

describe("CLI text", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1 KiB"],
    [1536, "1.5 KiB"],
    [1_024_000, "1000 KiB"], // was "1.00e+3 KiB"
    [1024 * 1024 - 1, "1 MiB"], // three significant digits
    [8 * 1024 * 1024, "8 MiB"],
    [1024 ** 3, "1 GiB"],
    [1.5 * 1024 ** 4, "1.5 TiB"],
  ])("formatBytes(%d) = %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it.each([
    [0, "0ms"],
    [12.4, "12ms"],
    [999, "999ms"],
    [1234, "1.2s"],
    [59_999, "59.9s"],
    [61_000, "1m 1s"],
    [3_600_000, "1h"], // was "3600.00 s"
  ])("formatDuration(%d) = %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("formats rates", () => {
    expect(formatRate(1024 * 1024, 1000)).toBe("1 MiB/s");
    expect(formatRate(5, 0)).toBe("—");
  });

  it("escapes control and bidi characters in peer names, leaving others alone", () => {
    expect(printable("a\u001b[2Jb")).toBe("a\\u001b[2Jb");
    expect(printable("evil\u202etxt")).toBe("evil\\u202etxt");
    expect(printable("café 文件.txt")).toBe("café 文件.txt");
  });

  it("names a digest's algorithm beside it, in text and in JSON", () => {
    const digest = { algorithm: "blake3" as const, hex: "ab".repeat(32) };
    expect(formatDigest(digest)).toBe(`blake3 ${"ab".repeat(32)}`);
    expect(digestByAlgorithm(digest)).toEqual({ blake3: "ab".repeat(32) });
  });
});
