import { describe, expect, it } from "vitest";
import { encodeControl, encodeData } from "./frame-encoder.js";
import { FrameDecoder } from "./frame-decoder.js";
import type { Frame } from "./frame.js";
import { MESSAGE_TYPES, type Message } from "./messages.js";
import type { UnknownWireCode } from "./error-codes.js";
import { ProtocolError } from "./errors.js";
import { frame, splitAt } from "./testing/hand-writer.js";

const SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; // sha256("")

interface ControlVector {
  name: string;
  message: Message;
  bytes: Buffer;
}

// Expected bytes: 0x01 (CONTROL), u32 length, then the JSON written out by hand in schema order.
const controlVectors: ControlVector[] = [
  {
    name: "hello",
    message: { type: "hello", version: 1, agent: "t" },
    bytes: frame(0x01, '{"type":"hello","version":1,"agent":"t"}'),
  },
  {
    name: "welcome",
    message: {
      type: "welcome",
      version: 1,
      agent: "s",
      limits: { maxDataPayload: 1048576, maxFileSize: 9007199254740991 },
      capabilities: ["upload"],
    },
    bytes: frame(
      0x01,
      '{"type":"welcome","version":1,"agent":"s","limits":{"maxDataPayload":1048576,"maxFileSize":9007199254740991},"capabilities":["upload"]}',
    ),
  },
  {
    name: "put with a non-ASCII name",
    message: { type: "put", id: 7, name: "ünï €.bin", size: 3 },
    bytes: frame(0x01, Buffer.from('{"type":"put","id":7,"name":"ünï €.bin","size":3}', "utf8")),
  },
  {
    name: "put_end",
    message: { type: "put_end", id: 4294967295, sha256: SHA },
    bytes: frame(0x01, `{"type":"put_end","id":4294967295,"sha256":"${SHA}"}`),
  },
  { name: "cancel", message: { type: "cancel", id: 0 }, bytes: frame(0x01, '{"type":"cancel","id":0}') },
  {
    name: "stored",
    message: { type: "stored", id: 1, name: "a (1).txt", size: 0, sha256: SHA },
    bytes: frame(0x01, `{"type":"stored","id":1,"name":"a (1).txt","size":0,"sha256":"${SHA}"}`),
  },
  {
    name: "put_batch",
    message: { type: "put_batch", id: 9, files: [{ name: "a.txt", size: 0, sha256: SHA }, { name: "d/b.bin", size: 65536, sha256: SHA }] },
    bytes: frame(
      0x01,
      `{"type":"put_batch","id":9,"files":[{"name":"a.txt","size":0,"sha256":"${SHA}"},{"name":"d/b.bin","size":65536,"sha256":"${SHA}"}]}`,
    ),
  },
  {
    name: "batch_stored with a stored and a refused file",
    message: { type: "batch_stored", id: 9, results: [{ name: "a (1).txt", outcome: "renamed" }, { code: "BAD_NAME", message: "no" }] },
    bytes: frame(0x01, '{"type":"batch_stored","id":9,"results":[{"name":"a (1).txt","outcome":"renamed"},{"code":"BAD_NAME","message":"no"}]}'),
  },
  {
    name: "welcome with an authenticated user",
    message: {
      type: "welcome",
      version: 1,
      agent: "s",
      limits: { maxDataPayload: 65536, maxFileSize: 10 },
      capabilities: [],
      user: { name: "alice", permissions: ["read", "write"] },
    },
    bytes: frame(
      0x01,
      '{"type":"welcome","version":1,"agent":"s","limits":{"maxDataPayload":65536,"maxFileSize":10},"capabilities":[],"user":{"name":"alice","permissions":["read","write"]}}',
    ),
  },
  {
    name: "hello with a token",
    message: { type: "hello", version: 1, agent: "t", token: "s3cret" },
    bytes: frame(0x01, '{"type":"hello","version":1,"agent":"t","token":"s3cret"}'),
  },
  {
    name: "resumable put with a conflict policy",
    message: { type: "put", id: 2, name: "d/big.iso", size: 16777216, onConflict: "overwrite", resume: { key: "ab".repeat(16), chunkSize: 8388608 } },
    bytes: frame(
      0x01,
      `{"type":"put","id":2,"name":"d/big.iso","size":16777216,"onConflict":"overwrite","resume":{"key":"${"ab".repeat(16)}","chunkSize":8388608}}`,
    ),
  },
  {
    name: "put_offer",
    message: { type: "put_offer", id: 2, offset: 8388608, chunks: [SHA] },
    bytes: frame(0x01, `{"type":"put_offer","id":2,"offset":8388608,"chunks":["${SHA}"]}`),
  },
  { name: "put_from", message: { type: "put_from", id: 2, offset: 0 }, bytes: frame(0x01, '{"type":"put_from","id":2,"offset":0}') },
  {
    name: "stored with an outcome",
    message: { type: "stored", id: 2, name: "d/big.iso", size: 16777216, sha256: SHA, outcome: "overwritten" },
    bytes: frame(0x01, `{"type":"stored","id":2,"name":"d/big.iso","size":16777216,"sha256":"${SHA}","outcome":"overwritten"}`),
  },
  { name: "get", message: { type: "get", id: 3, name: "a.txt" }, bytes: frame(0x01, '{"type":"get","id":3,"name":"a.txt"}') },
  {
    name: "get with resume",
    message: { type: "get", id: 3, name: "a.txt", resume: { chunkSize: 8388608, chunks: [SHA, SHA] } },
    bytes: frame(0x01, `{"type":"get","id":3,"name":"a.txt","resume":{"chunkSize":8388608,"chunks":["${SHA}","${SHA}"]}}`),
  },
  {
    name: "get_begin resumed",
    message: { type: "get_begin", id: 3, name: "a.txt", size: 20000000, offset: 16777216 },
    bytes: frame(0x01, '{"type":"get_begin","id":3,"name":"a.txt","size":20000000,"offset":16777216}'),
  },
  {
    name: "get_end",
    message: { type: "get_end", id: 3, sha256: SHA },
    bytes: frame(0x01, `{"type":"get_end","id":3,"sha256":"${SHA}"}`),
  },
  { name: "list of a folder", message: { type: "list", id: 4, path: "photos" }, bytes: frame(0x01, '{"type":"list","id":4,"path":"photos"}') },
  {
    name: "listing page",
    message: {
      type: "listing",
      id: 4,
      entries: [
        { name: "photos/a.jpg", size: 5, mtime: 1700000000000, sha256: SHA },
        { name: "photos/b.jpg", size: 0, mtime: 0, sha256: null },
      ],
      more: true,
    },
    bytes: frame(
      0x01,
      `{"type":"listing","id":4,"entries":[{"name":"photos/a.jpg","size":5,"mtime":1700000000000,"sha256":"${SHA}"},{"name":"photos/b.jpg","size":0,"mtime":0,"sha256":null}],"more":true}`,
    ),
  },
  { name: "delete", message: { type: "delete", id: 5, name: "old.log" }, bytes: frame(0x01, '{"type":"delete","id":5,"name":"old.log"}') },
  { name: "deleted", message: { type: "deleted", id: 5, name: "old.log" }, bytes: frame(0x01, '{"type":"deleted","id":5,"name":"old.log"}') },
  {
    name: "error with a code this version does not know (carried, §8)",
    message: { type: "error", id: 6, code: "FROM_THE_FUTURE" as UnknownWireCode, message: "new" },
    bytes: frame(0x01, '{"type":"error","id":6,"code":"FROM_THE_FUTURE","message":"new"}'),
  },
  {
    name: "error without id",
    message: { type: "error", code: "BUSY", message: "server busy" },
    bytes: frame(0x01, '{"type":"error","code":"BUSY","message":"server busy"}'),
  },
  {
    name: "error with id",
    message: { type: "error", id: 2, code: "CHECKSUM_MISMATCH", message: "x" },
    bytes: frame(0x01, '{"type":"error","id":2,"code":"CHECKSUM_MISMATCH","message":"x"}'),
  },
];

const dataVectors: { name: string; payload: Buffer; bytes: Buffer }[] = [
  { name: "empty data", payload: Buffer.alloc(0), bytes: Buffer.from([0x02, 0, 0, 0, 0]) },
  { name: "one byte", payload: Buffer.from([0xff]), bytes: Buffer.from([0x02, 0, 0, 0, 1, 0xff]) },
  {
    name: "binary with NUL and CR LF",
    payload: Buffer.from([0x00, 0x0d, 0x0a, 0x89, 0x46]),
    bytes: Buffer.from([0x02, 0, 0, 0, 5, 0x00, 0x0d, 0x0a, 0x89, 0x46]),
  },
  {
    name: "300 bytes (length needs two bytes)",
    payload: Buffer.alloc(300, 0xab),
    bytes: Buffer.concat([Buffer.from([0x02, 0, 0, 0x01, 0x2c]), Buffer.alloc(300, 0xab)]),
  },
];

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
