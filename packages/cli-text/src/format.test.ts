import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, formatRate, printable } from "./format.js";

describe("CLI text", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.00 KiB"],
    [1536, "1.50 KiB"],
    [8 * 1024 * 1024, "8.00 MiB"],
    [1.5 * 1024 ** 4, "1.50 TiB"],
  ])("formatBytes(%d) = %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it("formats rates and durations", () => {
    expect(formatRate(1024 * 1024, 1000)).toBe("1.00 MiB/s");
    expect(formatRate(5, 0)).toBe("—");
    expect(formatDuration(12.4)).toBe("12 ms");
    expect(formatDuration(1234)).toBe("1.23 s");
  });

  it("escapes control and bidi characters in peer names, leaving others alone", () => {
    expect(printable("a\u001b[2Jb")).toBe("a\\u001b[2Jb");
    expect(printable("evil\u202etxt")).toBe("evil\\u202etxt");
    expect(printable("café 文件.txt")).toBe("café 文件.txt");
  });
});
