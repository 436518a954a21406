// An independent, deliberately naive frame writer for test vectors. It shares no code with the
// encoder under test: bytes are assembled by hand from the spec in docs/protocol.md.

/** type byte, big-endian u32 length, payload. */
export function frame(type: number, payload: Uint8Array | string): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload);
  const n = body.length;
  return Buffer.concat([Buffer.from([type, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]), body]);
}

/** Splits `bytes` into pieces at the given offsets. */
export function splitAt(bytes: Uint8Array, offsets: number[]): Buffer[] {
  const out: Buffer[] = [];
  let last = 0;
  for (const at of offsets) {
    out.push(Buffer.from(bytes.subarray(last, at)));
    last = at;
  }
  out.push(Buffer.from(bytes.subarray(last)));
  return out;
}
