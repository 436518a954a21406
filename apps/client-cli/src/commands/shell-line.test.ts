import { describe, expect, it } from "vitest";
import { parseShellLine } from "./shell-line.js";

describe("parseShellLine", () => {
  it.each([
    ["", { verb: "empty" }],
    ["   ", { verb: "empty" }],
    ["quit", { verb: "quit" }],
    ["exit", { verb: "quit" }],
    ["help", { verb: "help" }],
    ["ls", { verb: "ls" }],
    ["ls photos", { verb: "ls", arg: "photos" }],
    ["report.pdf", { verb: "put", arg: "report.pdf" }],
    ["my holiday photo.jpg", { verb: "put", arg: "my holiday photo.jpg" }],
    ["put  two words.txt ", { verb: "put", arg: "two words.txt" }],
    ["get notes.txt", { verb: "get", arg: "notes.txt" }],
    ["rm old.log", { verb: "rm", arg: "old.log" }],
    ["get", { verb: "usage", message: "get needs a name: get NAME" }],
    ["put --to backups/2026/ my notes.txt", { verb: "put", arg: "my notes.txt", to: "backups/2026/" }],
    ["put --to backups my.txt", { verb: "usage", message: "--to names a folder: --to backups/" }],
    ["rm -r old photos", { verb: "rm", arg: "old photos", recursive: true }],
  ])("%j", (line, expected) => {
    expect(parseShellLine(line)).toEqual(expected);
  });
});
