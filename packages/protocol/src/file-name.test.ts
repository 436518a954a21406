import { describe, expect, it } from "vitest";
import { fileNameProblem } from "./file-name.js";

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
  ])("rejects %s", (_label, name) => {
    expect(fileNameProblem(name)).toEqual(expect.any(String));
  });
});
