import { describe, expect, it } from "vitest";
import { compareNames, fileNameProblem, numberedName, numberedPath, pathProblem } from "./file-name.js";

describe("fileNameProblem", () => {
  it.each([
    "report.pdf",
    "photo 2024.JPG",
    "ünïcödé – 日本語.txt",
    ".hidden",
    "a".repeat(255),
    "é".repeat(127), // 254 bytes
    "CONSOLE.txt",
  ])("accepts %j", (name) => {
    expect(fileNameProblem(name)).toBeNull();
  });

  it.each([
    ["empty", ""],
    ["dot", "."],
    ["dot dot", ".."],
    ["traversal", "../x"],
    ["nested traversal", "a/../../b"],
    ["absolute", "/etc/passwd"],
    ["windows drive", "C:\\x"],
    ["UNC", "\\\\srv\\x"],
    ["backslash", "a\\b"],
    ["NUL", "a\u0000b"],
    ["newline", "a\nb"],
    ["ANSI escape", "\u001b[31mred"],
    ["DEL", "a\u007f"],
    ["C1 control", "a\u0085"],
    ["bidi override", "evil\u202etxt.exe"],
    ["CON", "CON"],
    ["NUL.txt", "NUL.txt"],
    ["com1", "com1"],
    ["trailing dot", "name."],
    ["trailing space", "name "],
    ["over 255 bytes", "a".repeat(256)],
    ["over 255 bytes in UTF-8", "é".repeat(128)],
    ["lone surrogate", "a\ud800b"],
    ["reserved prefix", ".ferry-tmp-1"],
    ["NFD twin of café", "cafe\u0301"],
  ])("rejects %s", (_label, name) => {
    expect(fileNameProblem(name)).toEqual(expect.any(String));
  });
});

describe("Unicode normalisation", () => {
  it("accepts the NFC spelling and refuses its NFD twin, so two names never look alike", () => {
    expect(fileNameProblem("caf\u00e9.txt")).toBeNull();
    expect(fileNameProblem("cafe\u0301.txt")).toMatch(/NFC/);
    expect(pathProblem("r\u00e9sum\u00e9/cafe\u0301.txt")).toMatch(/NFC/);
  });
});

describe("pathProblem", () => {
  it.each(["a.txt", "photos/2024/a.jpg", "deep/" .repeat(31) + "x", "ünï/€.bin"])("accepts %j", (p) => {
    expect(pathProblem(p)).toBeNull();
  });

  it.each([
    ["empty", ""],
    ["absolute", "/etc/passwd"],
    ["traversal", "a/../../b"],
    ["dot component", "a/./b"],
    ["empty component", "a//b"],
    ["trailing slash", "a/"],
    ["backslash", "a\\b/c"],
    ["too deep", "d/".repeat(32) + "x"],
    ["too long", "a".repeat(200) + "/" + "b".repeat(200) + "/".repeat(0) + "/c".repeat(2000)],
    ["reserved component", "a/.ferry-tmp-x"],
    ["control char in a folder", "a\u001b/b"],
  ])("rejects %s", (_label, p) => {
    expect(pathProblem(p)).toEqual(expect.any(String));
  });
});

describe("numberedName and numberedPath", () => {
  it.each([
    ["a.txt", 1, "a (1).txt"],
    ["archive.tar.gz", 2, "archive.tar (2).gz"],
    [".bashrc", 1, ".bashrc (1)"],
    ["noext", 3, "noext (3)"],
  ])("%s #%i → %s", (name, n, expected) => {
    expect(numberedName(name, n)).toBe(expected);
  });

  it("shortens the stem so the result stays within 255 bytes", () => {
    const result = numberedName(`${"é".repeat(126)}.txt`, 12);
    expect(Buffer.byteLength(result, "utf8")).toBeLessThanOrEqual(255);
    expect(result.endsWith(" (12).txt")).toBe(true);
  });

  it("numbers only the last component of a path", () => {
    expect(numberedPath("dir.v2/sub/a.txt", 1)).toBe("dir.v2/sub/a (1).txt");
    expect(numberedPath("a.txt", 2)).toBe("a (2).txt");
  });
});

describe("visually identical names and the reserved prefix (protocol.md §6)", () => {
  it.each([
    ["zero-width space", "report\u200b.pdf"],
    ["soft hyphen", "re\u00adport.pdf"],
    ["zero-width no-break space", "\ufeffreport.pdf"],
    ["word joiner", "report\u2060.pdf"],
    ["Hangul filler", "\u3164.txt"],
    ["tag character", "flag\u{e0067}.txt"],
    ["line separator", "a\u2028b"],
    ["paragraph separator", "a\u2029b"],
    ["reserved prefix, capitalised", ".Ferry-index.jsonl"],
    ["reserved prefix, upper case", ".FERRY-TMP-1"],
  ])("refuses %s", (_why, name) => {
    expect(fileNameProblem(name)).not.toBeNull();
  });

  it.each([
    ["a ZWJ emoji sequence", "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}.txt"],
    ["a variation selector", "\u2764\uFE0F.txt"],
    ["a ZWNJ (Persian)", "می\u200Cخواهم.txt"],
    ["a name that only contains ferry", "ferry-notes.txt"],
    ["the prefix without its dot", "Ferry-index.jsonl"],
  ])("accepts %s", (_why, name) => {
    expect(fileNameProblem(name)).toBeNull();
  });
});

describe("compareNames (listing order, protocol.md §4.3)", () => {
  it("orders by code point, which is UTF-8 byte order", () => {
    const names = ["\u{1F600}.txt", "z.txt", "\uE000.txt", "a.txt", "a", "\u00e9.txt"];
    const sorted = [...names].sort(compareNames);
    expect(sorted).toEqual(["a", "a.txt", "z.txt", "\u00e9.txt", "\uE000.txt", "\u{1F600}.txt"]);
    const byBytes = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(sorted).toEqual(byBytes);
  });
});
