import { describe, expect, it } from "vitest";
import { encodeControl, encodeData } from "./frame-encoder.js";
import { FrameDecoder } from "./frame-decoder.js";
import type { Frame } from "./frame.js";
import { MESSAGE_TYPES, type Message } from "./messages.js";
import { ProtocolError } from "./errors.js";
import { frame, splitAt } from "./testing/hand-writer.js";
import { CONTROL_VECTORS as controlVectors, DATA_VECTORS as dataVectors, SHA } from "./testing/vectors.js";

function decodeChunks(chunks: Buffer[]): Frame[] {
  const decoder = new FrameDecoder();
  const frames = chunks.flatMap((c) => decoder.push(c));
  expect(decoder.midFrame).toBe(false);
  return frames;
}

/** Every way of feeding `bytes` to a fresh decoder must give `expected`. */
function expectDecodesEverywhere(bytes: Buffer, expected: Frame[]): void {
  expect(decodeChunks([bytes])).toEqual(expected);
  expect(decodeChunks([...bytes].map((b) => Buffer.from([b])))).toEqual(expected);
  for (let at = 0; at <= bytes.length; at++) {
    expect(decodeChunks(splitAt(bytes, [at]))).toEqual(expected);
  }
}

describe("control frame vectors", () => {
  it.each(controlVectors)("$name", ({ message, bytes }) => {
    expect(Buffer.concat(encodeControl(message))).toEqual(bytes);
    expectDecodesEverywhere(bytes, [{ kind: "control", message }]);
  });
});

it("has a vector for every message type", () => {
  expect(new Set(controlVectors.map((v) => v.message.type))).toEqual(new Set(MESSAGE_TYPES));
});

describe("data frame vectors", () => {
  it.each(dataVectors)("$name", ({ payload, bytes }) => {
    const [header, body] = encodeData(payload);
    expect(body).toBe(payload); // passed through, not copied
    expect(Buffer.concat([header, body])).toEqual(bytes);
    expectDecodesEverywhere(bytes, [{ kind: "data", payload }]);
  });
});

// Every split of ~1 KiB of frames, each decoded whole: ~1 s alone, several on a loaded machine
// (the shared hang detector covers it; see vitest.shared.ts).
it("decodes every vector back to back in one stream, at any split", () => {
  const all = Buffer.concat([...controlVectors.map((v) => v.bytes), ...dataVectors.map((v) => v.bytes)]);
  const expected: Frame[] = [
    ...controlVectors.map((v): Frame => ({ kind: "control", message: v.message })),
    ...dataVectors.map((v): Frame => ({ kind: "data", payload: v.payload })),
  ];
  expectDecodesEverywhere(all, expected);
});

describe("reusesInput: the caller overwrites each chunk after push()", () => {
  const all = Buffer.concat([...controlVectors.map((v) => v.bytes), ...dataVectors.map((v) => v.bytes)]);
  const expectedMessages = controlVectors.map((v) => v.message);
  const expectedData = Buffer.concat(dataVectors.map((v) => v.payload));

  /** Feeds `all` through one scratch buffer in pieces of `size`, scribbling over it after each push. */
  function decodeThroughScratch(size: number, streamData: boolean): { messages: Message[]; data: Buffer } {
    const decoder = new FrameDecoder({ reusesInput: true, streamData });
    const scratch = Buffer.alloc(size);
    const messages: Message[] = [];
    const data: Buffer[] = [];
    for (let at = 0; at < all.length; at += size) {
      const n = all.copy(scratch, 0, at, at + size);
      for (const f of decoder.push(scratch.subarray(0, n))) {
        // Frames are consumed before the next push, as the option requires.
        if (f.kind === "control") messages.push(f.message);
        else data.push(Buffer.from(f.payload));
      }
      scratch.fill(0xee);
    }
    expect(decoder.midFrame).toBe(false);
    return { messages, data: Buffer.concat(data) };
  }

  it.each([1, 2, 3, 7, 64, 1000])("decodes every vector through a %i-byte reused buffer", (size) => {
    for (const streamData of [false, true]) {
      const { messages, data } = decodeThroughScratch(size, streamData);
      expect(messages).toEqual(expectedMessages);
      expect(data.equals(expectedData)).toBe(true);
    }
  });
});

describe("frames before a bad one", () => {
  it("are handed over with the error (framesBefore), whatever the chunking", () => {
    const good = frame(0x01, '{"type":"cancel","id":1}');
    const bad = Buffer.from([0x07, 0, 0, 0, 0]);
    const error = (() => {
      try {
        new FrameDecoder().push(Buffer.concat([good, good, bad]));
      } catch (e) {
        return e as ProtocolError;
      }
      throw new Error("no error");
    })();
    expect(error.code).toBe("UNKNOWN_FRAME_TYPE");
    expect(error.framesBefore).toEqual([
      { kind: "control", message: { type: "cancel", id: 1 } },
      { kind: "control", message: { type: "cancel", id: 1 } },
    ]);
  });
});

describe("spellings protocol.md §3 settles", () => {
  const decode = (json: string) => new FrameDecoder().push(frame(0x01, json))[0];
  it("a duplicated key counts with its last value, type included", () => {
    expect(decode('{"type":"put","type":"list","id":4}')).toEqual({ kind: "control", message: { type: "list", id: 4 } });
  });
  it("integers are judged by value: 3.0, 3e0 and -0", () => {
    expect(decode('{"type":"cancel","id":3.0}')).toEqual({ kind: "control", message: { type: "cancel", id: 3 } });
    expect(decode('{"type":"cancel","id":3e0}')).toEqual({ kind: "control", message: { type: "cancel", id: 3 } });
    const negativeZero = decode('{"type":"cancel","id":-0}');
    // -0 === 0, and it goes back on the wire as 0 (JSON.stringify(-0) is "0").
    expect(negativeZero?.kind === "control" && negativeZero.message.type === "cancel" && negativeZero.message.id === 0).toBe(true);
  });
  it("a name of any length is a valid message (its rules are the receiver's, BAD_NAME)", () => {
    expect(decode(`{"type":"delete","id":1,"name":"${"n".repeat(60_000)}"}`)).toMatchObject({ message: { type: "delete" } });
  });
  it("streamData still passes on an empty DATA frame, so the receiver can judge it", () => {
    const frames = new FrameDecoder({ streamData: true }).push(Buffer.from([0x02, 0, 0, 0, 0]));
    expect(frames).toEqual([{ kind: "data", payload: Buffer.alloc(0) }]);
  });
});

interface ErrorVector {
  name: string;
  bytes: Buffer;
  code: ProtocolError["code"];
  options?: ConstructorParameters<typeof FrameDecoder>[0];
}

const errorVectors: ErrorVector[] = [
  { name: "unknown frame type", bytes: frame(0x03, "x"), code: "UNKNOWN_FRAME_TYPE" },
  { name: "type zero", bytes: frame(0x00, ""), code: "UNKNOWN_FRAME_TYPE" },
  // Only the header: the limit must be enforced before a single body byte arrives.
  { name: "length 2^32-1", bytes: Buffer.from([0x02, 0xff, 0xff, 0xff, 0xff]), code: "FRAME_TOO_LARGE" },
  { name: "control over 64 KiB", bytes: Buffer.from([0x01, 0, 1, 0, 1]), code: "FRAME_TOO_LARGE" },
  {
    name: "data over a custom limit",
    bytes: Buffer.from([0x02, 0, 0, 0x04, 0x01]),
    code: "FRAME_TOO_LARGE",
    options: { maxDataPayload: 1024 },
  },
  { name: "zero-length control", bytes: frame(0x01, ""), code: "BAD_MESSAGE" },
  { name: "control not JSON", bytes: frame(0x01, "{nope"), code: "BAD_MESSAGE" },
  { name: "control invalid UTF-8", bytes: frame(0x01, Buffer.from([0x22, 0xc3, 0x28, 0x22])), code: "BAD_MESSAGE" },
  { name: "unknown message type", bytes: frame(0x01, '{"type":"teleport"}'), code: "BAD_MESSAGE" },
  { name: "extra key", bytes: frame(0x01, '{"type":"cancel","id":1,"x":1}'), code: "BAD_MESSAGE" },
  { name: "negative size", bytes: frame(0x01, '{"type":"put","id":1,"name":"a","size":-1}'), code: "BAD_MESSAGE" },
  { name: "fractional size", bytes: frame(0x01, '{"type":"put","id":1,"name":"a","size":1.5}'), code: "BAD_MESSAGE" },
  {
    name: "size beyond 2^53",
    bytes: frame(0x01, '{"type":"put","id":1,"name":"a","size":9007199254740993}'),
    code: "BAD_MESSAGE",
  },
  { name: "id beyond u32", bytes: frame(0x01, '{"type":"cancel","id":4294967296}'), code: "BAD_MESSAGE" },
  { name: "uppercase sha256", bytes: frame(0x01, `{"type":"put_end","id":1,"sha256":"${SHA.toUpperCase()}"}`), code: "BAD_MESSAGE" },
  // An unknown code of the right shape is carried (§8); one of another shape is a malformed message.
  { name: "error code not of the code shape", bytes: frame(0x01, '{"type":"error","code":"nope","message":""}'), code: "BAD_MESSAGE" },
  // protocol.md §3: a byte-order mark is not part of a message.
  { name: "UTF-8 BOM before the JSON", bytes: frame(0x01, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"type":"list","id":1}')])), code: "BAD_MESSAGE" },
  { name: "JSON array", bytes: frame(0x01, "[]"), code: "BAD_MESSAGE" },
  { name: "JSON null", bytes: frame(0x01, "null"), code: "BAD_MESSAGE" },
];

describe("error vectors", () => {
  it.each(errorVectors)("$name → $code, no frame emitted, decoder stays failed", ({ bytes, code, options }) => {
    for (const chunks of [[bytes], [...bytes].map((b) => Buffer.from([b]))]) {
      const decoder = new FrameDecoder(options);
      const emitted: Frame[] = [];
      let thrown: unknown;
      try {
        for (const c of chunks) emitted.push(...decoder.push(c));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ProtocolError);
      expect((thrown as ProtocolError).code).toBe(code);
      expect(emitted).toEqual([]);
      expect(decoder.failed).toBe(true);
      // A valid frame afterwards is not accepted: the stream lost framing.
      expect(() => decoder.push(frame(0x02, "ok"))).toThrow(
        expect.objectContaining({ code: "DECODER_FAILED" }) as Error,
      );
    }
  });
});

describe("truncation", () => {
  it("reports a frame cut short so the caller can treat EOF as an error", () => {
    const bytes = frame(0x02, "abcdef");
    for (let at = 1; at < bytes.length; at++) {
      const decoder = new FrameDecoder();
      expect(decoder.push(bytes.subarray(0, at))).toEqual([]);
      expect(decoder.midFrame).toBe(true);
    }
  });

  it("does not buffer a large declared body before it arrives", () => {
    const decoder = new FrameDecoder();
    // Header announcing 1 MiB, then a single byte: nothing is emitted, nothing is thrown.
    expect(decoder.push(Buffer.from([0x02, 0x00, 0x10, 0x00, 0x00, 0x41]))).toEqual([]);
    expect(decoder.midFrame).toBe(true);
  });
});
