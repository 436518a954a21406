import { describe, expect, it } from "vitest";
import { formatFingerprint, parseFingerprint } from "./fingerprint.js";

// Digest bytes 00 01 … 1f; base64 written out by hand (not by the code under test).
const DIGEST = Uint8Array.from({ length: 32 }, (_, i) => i);
const EXPECTED = "SHA256:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const HEX = Array.from(DIGEST, (b) => b.toString(16).padStart(2, "0")).join("");

describe("fingerprints", () => {
  it("format digest bytes and Node's colon hex alike", () => {
    expect(formatFingerprint(DIGEST)).toBe(EXPECTED);
    expect(formatFingerprint(HEX.toUpperCase().match(/../g)!.join(":"))).toBe(EXPECTED);
  });

  it.each([
    ["the SSH form", EXPECTED],
    ["lowercase prefix", EXPECTED.replace("SHA256", "sha256")],
    ["the SSH form padded", `${EXPECTED}=`],
    ["bare hex", HEX],
    ["prefixed colon hex", `SHA256:${HEX.match(/../g)!.join(":")}`],
  ])("parse %s", (_why, text) => {
    expect(parseFingerprint(text)).toBe(EXPECTED);
  });

  it.each([["too short", "SHA256:abc"], ["not hex", "z".repeat(64)], ["empty", ""], ["MD5-sized hex", "ab".repeat(16)]])(
    "refuse %s",
    (_why, text) => {
      expect(parseFingerprint(text)).toBeNull();
    },
  );
});
