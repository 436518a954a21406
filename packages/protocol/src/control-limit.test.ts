import { describe, expect, it } from "vitest";
import { FrameDecoder } from "./frame-decoder.js";
import { LIMITS } from "./wire-constants.js";

// protocol.md §7: every legal client message fits the CONTROL limit, so no legal request can be
// refused as FRAME_TOO_LARGE.
describe("the CONTROL limit", () => {
  it("holds the largest legal GET: a 4,096-byte path in \\u escapes and 512 resume digests", () => {
    const name = "\\u0061".repeat(4096); // 4,096 bytes of UTF-8, 24,576 bytes of JSON
    const chunks = Array.from({ length: LIMITS.MAX_RESUME_CHUNKS }, () => `"${"f".repeat(64)}"`).join(",");
    const json = `{"type":"get","id":${LIMITS.MAX_ID},"name":"${name}","resume":{"chunkSize":${LIMITS.MAX_RESUME_CHUNK},"chunks":[${chunks}]}}`;
    const payload = Buffer.from(json);
    expect(payload.length).toBeLessThan(60_000);
    const header = Buffer.from([0x01, 0, 0, 0, 0]);
    header.writeUInt32BE(payload.length, 1);
    const [frame] = new FrameDecoder().push(Buffer.concat([header, payload]));
    expect(frame).toMatchObject({ kind: "control", message: { type: "get", name: "a".repeat(4096) } });
  });
});
