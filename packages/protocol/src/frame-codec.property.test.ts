import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeControl, encodeData } from "./frame-encoder.js";
import { FrameDecoder } from "./frame-decoder.js";
import { ProtocolError } from "./errors.js";
import type { Frame } from "./frame.js";
import { CONFLICT_POLICIES, DIGEST_ALGORITHMS, PERMISSIONS, PUBLISH_OUTCOMES, SHARE_KINDS, type Message, type MessageType } from "./messages.js";
import { WIRE_ERROR_CODES } from "./error-codes.js";
import { LIMITS } from "./wire-constants.js";

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const size = fc.maxSafeNat();
const sha = fc.stringMatching(/^[0-9a-f]{64}$/);
const text = fc.string({ unit: "grapheme", maxLength: 40 });

const outcome = fc.constantFrom(...PUBLISH_OUTCOMES);
const code = fc.constantFrom(...Object.values(WIRE_ERROR_CODES));
const resumeChunk = fc.integer({ min: LIMITS.MIN_RESUME_CHUNK, max: LIMITS.MAX_RESUME_CHUNK });
const shas = fc.array(sha, { maxLength: 3 });

const count = fc.maxSafeNat();
const shareInfo = fc.record({
  fingerprint: fc.stringMatching(/^[0-9a-f]{12}$/),
  kind: fc.constantFrom(...SHARE_KINDS),
  paths: fc.array(text, { maxLength: 4 }),
  createdAt: count,
  expiresAt: count,
  maxDownloads: fc.option(count, { nil: null }),
  downloads: count,
  password: fc.boolean(),
  maxBytes: fc.option(count, { nil: null }),
  maxFiles: fc.option(count, { nil: null }),
  uploadedBytes: count,
  uploadedFiles: count,
});

// One arbitrary per message type; the mapped type makes the compiler insist on every one.
const arbitraries: { [T in MessageType]: fc.Arbitrary<Extract<Message, { type: T }>> } = {
  hello: fc.record(
    { type: fc.constant("hello" as const), version: fc.integer({ min: 1, max: 0xffff }), agent: text, token: fc.string({ minLength: 1, maxLength: 40 }), digests: fc.uniqueArray(fc.constantFrom(...DIGEST_ALGORITHMS), { minLength: 1 }) },
    { requiredKeys: ["type", "version", "agent"] },
  ),
  welcome: fc.record(
    {
      type: fc.constant("welcome" as const),
      version: fc.integer({ min: 1, max: 0xffff }),
      agent: text,
      limits: fc.record({ maxDataPayload: fc.integer({ min: 1, max: 0xffff_ffff }), maxFileSize: size }),
      capabilities: fc.array(fc.string({ maxLength: 20 }), { maxLength: 8 }),
      digest: fc.constantFrom(...DIGEST_ALGORITHMS),
      user: fc.record({ name: fc.string({ minLength: 1, maxLength: 20 }), permissions: fc.subarray([...PERMISSIONS]) }),
    },
    { requiredKeys: ["type", "version", "agent", "limits", "capabilities"] },
  ),
  put: fc.record(
    {
      type: fc.constant("put" as const),
      id: u32,
      name: text,
      size,
      onConflict: fc.constantFrom(...CONFLICT_POLICIES),
      resume: fc.record({ key: fc.stringMatching(/^[0-9a-f]{32,64}$/), chunkSize: resumeChunk }),
    },
    { requiredKeys: ["type", "id", "name", "size"] },
  ),
  put_offer: fc.record({ type: fc.constant("put_offer" as const), id: u32, offset: size, chunks: shas }),
  put_from: fc.record({ type: fc.constant("put_from" as const), id: u32, offset: size }),
  put_end: fc.record({ type: fc.constant("put_end" as const), id: u32, sha256: sha }),
  cancel: fc.record({ type: fc.constant("cancel" as const), id: u32 }),
  stored: fc.record(
    { type: fc.constant("stored" as const), id: u32, name: text, size, sha256: sha, outcome },
    { requiredKeys: ["type", "id", "name", "size", "sha256"] },
  ),
  put_batch: fc.record(
    {
      type: fc.constant("put_batch" as const),
      id: u32,
      files: fc.array(fc.record({ name: text, size: fc.integer({ min: 0, max: 65536 }), sha256: sha }), { minLength: 1, maxLength: 4 }),
      onConflict: fc.constantFrom(...CONFLICT_POLICIES),
    },
    { requiredKeys: ["type", "id", "files"] },
  ),
  batch_stored: fc.record({
    type: fc.constant("batch_stored" as const),
    id: u32,
    results: fc.array(fc.oneof(fc.record({ name: text, outcome }), fc.record({ code, message: fc.string({ maxLength: 40 }) })), {
      minLength: 1,
      maxLength: 4,
    }),
  }),
  get: fc.record(
    { type: fc.constant("get" as const), id: u32, name: text, resume: fc.record({ chunkSize: resumeChunk, chunks: shas }) },
    { requiredKeys: ["type", "id", "name"] },
  ),
  get_begin: fc.record({ type: fc.constant("get_begin" as const), id: u32, name: text, size, offset: size }, { requiredKeys: ["type", "id", "name", "size"] }),
  get_end: fc.record({ type: fc.constant("get_end" as const), id: u32, sha256: sha }),
  list: fc.record({ type: fc.constant("list" as const), id: u32, path: text }, { requiredKeys: ["type", "id"] }),
  share: fc.record(
    {
      type: fc.constant("share" as const),
      id: u32,
      kind: fc.constantFrom(...SHARE_KINDS),
      paths: fc.array(text, { minLength: 1, maxLength: 4 }),
      expiresIn: fc.integer({ min: 1, max: LIMITS.MAX_SHARE_SECONDS }),
      maxDownloads: fc.integer({ min: 1, max: 1000 }),
      password: fc.string({ minLength: 1, maxLength: 40 }),
      maxBytes: size,
      maxFiles: fc.integer({ min: 1, max: 1000 }),
    },
    { requiredKeys: ["type", "id", "kind", "paths", "expiresIn"] },
  ),
  shared: fc.record({
    type: fc.constant("shared" as const),
    id: u32,
    url: fc.webUrl(),
    secret: fc.stringMatching(/^[A-Za-z0-9_-]{22,64}$/),
    link: shareInfo,
  }),
  share_list: fc.record({ type: fc.constant("share_list" as const), id: u32 }),
  shares: fc.record({ type: fc.constant("shares" as const), id: u32, links: fc.array(shareInfo, { maxLength: 3 }), more: fc.boolean() }),
  share_revoke: fc.record({ type: fc.constant("share_revoke" as const), id: u32, link: fc.string({ minLength: 1, maxLength: 64 }) }),
  share_revoked: fc.record({ type: fc.constant("share_revoked" as const), id: u32, fingerprint: fc.stringMatching(/^[0-9a-f]{12}$/) }),
  listing: fc.record({
    type: fc.constant("listing" as const),
    id: u32,
    entries: fc.array(fc.record({ name: text, size, mtime: fc.maxSafeNat(), sha256: fc.option(sha, { nil: null }), blake3: sha }, { requiredKeys: ["name", "size", "mtime", "sha256"] }), { maxLength: 4 }),
    more: fc.boolean(),
  }),
  delete: fc.record({ type: fc.constant("delete" as const), id: u32, name: text }),
  deleted: fc.record({ type: fc.constant("deleted" as const), id: u32, name: text }),
  error: fc.record({ type: fc.constant("error" as const), id: u32, code, message: text }, { requiredKeys: ["type", "code", "message"] }),
};

const message: fc.Arbitrary<Message> = fc.oneof(...Object.values(arbitraries));

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  message.map((m): Frame => ({ kind: "control", message: m })),
  fc.uint8Array({ maxLength: 2000 }).map((b): Frame => ({ kind: "data", payload: Buffer.from(b) })),
);

function encode(f: Frame): Buffer {
  return Buffer.concat(f.kind === "control" ? encodeControl(f.message) : encodeData(f.payload));
}

/** Feeds `bytes` to a fresh decoder cut at the given (arbitrary) offsets; returns every frame. */
function decodeAtCuts(bytes: Buffer, cuts: number[], decoder: FrameDecoder): Frame[] {
  const offsets = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
  const out: Frame[] = [];
  let last = 0;
  for (const at of [...offsets, bytes.length]) {
    out.push(...decoder.push(bytes.subarray(last, at)));
    last = at;
  }
  return out;
}

describe("properties", () => {
  it("draws every message type", () => {
    const seen = new Set(fc.sample(message, { numRuns: 2000, seed: 42 }).map((m) => m.type));
    expect([...seen].sort()).toEqual(Object.keys(arbitraries).sort());
  });

  it("any chunking of valid frames decodes to the same frames", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
        const decoder = new FrameDecoder();
        const out = decodeAtCuts(Buffer.concat(frames.map(encode)), cuts, decoder);
        expect(out).toEqual(frames);
        expect(decoder.midFrame).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("random bytes never throw anything but ProtocolError", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
        const decoder = new FrameDecoder();
        try {
          for (const c of chunks) decoder.push(c);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("mutated valid streams never throw anything but ProtocolError", () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (frames, flips) => {
          const bytes = Buffer.concat(frames.map(encode));
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          const decoder = new FrameDecoder();
          try {
            decoder.push(bytes);
          } catch (error) {
            expect(error).toBeInstanceOf(ProtocolError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("streamData mode", () => {
  it("yields the same control messages and the same DATA bytes, in order, at any chunking", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 12 }), (frames, cuts) => {
        const out = decodeAtCuts(Buffer.concat(frames.map(encode)), cuts, new FrameDecoder({ streamData: true }));
        // Merge adjacent DATA pieces between control messages; empty DATA frames vanish.
        const normalise = (list: Frame[]) => {
          const merged: (Message | Buffer)[] = [];
          for (const f of list) {
            if (f.kind === "control") merged.push(f.message);
            else if (f.payload.length > 0) {
              const prev = merged.at(-1);
              if (Buffer.isBuffer(prev)) merged[merged.length - 1] = Buffer.concat([prev, f.payload]);
              else merged.push(Buffer.from(f.payload));
            }
          }
          return merged;
        };
        expect(normalise(out)).toEqual(normalise(frames));
      }),
      { numRuns: 300 },
    );
  });
});
