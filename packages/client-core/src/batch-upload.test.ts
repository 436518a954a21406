import { describe, expect, it } from "vitest";
import { LIMITS } from "@ferry/protocol";
import { groupForBatches } from "./batch-upload.js";

const files = (count: number, nameLength: number) =>
  Array.from({ length: count }, (_, i) => ({ name: `${String(i).padStart(6, "0")}${"n".repeat(Math.max(0, nameLength - 6))}` }));

describe("groupForBatches", () => {
  it("keeps every file, in order, in as few batches as the 8 KiB budget allows", () => {
    const groups = groupForBatches(files(300, 10));
    // ~112 bytes of JSON per file with a 10-character name: 72 files fill a batch.
    expect(groups.map((g) => g.length)).toEqual([72, 72, 72, 72, 12]);
    expect(groups.every((g) => g.length <= LIMITS.MAX_BATCH_FILES)).toBe(true);
    expect(groups.flat().map((f) => f.name)).toEqual(files(300, 10).map((f) => f.name));
  });

  it("keeps each PUT_BATCH within 8 KiB of JSON, whatever the names", () => {
    for (const length of [1, 100, 1000, 4096]) {
      for (const group of groupForBatches(files(200, length))) {
        const json = JSON.stringify({
          type: "put_batch",
          id: 0xffff_ffff,
          files: group.map((f) => ({ name: f.name, size: LIMITS.MAX_BATCH_FILE, sha256: "f".repeat(64) })),
          onConflict: "overwrite",
        });
        expect(Buffer.byteLength(json)).toBeLessThanOrEqual(LIMITS.MAX_BATCH_PAYLOAD);
      }
    }
  });
});
