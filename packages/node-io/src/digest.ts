import { createHash, type Hash } from "node:crypto";
import { readSync } from "node:fs";
import { createRequire } from "node:module";
import type * as BlakeHash from "@napi-rs/blake-hash";
import { assertNever, type DigestAlgorithm } from "@ferry/protocol";

// Loaded on first use, so a process that never negotiates BLAKE3 never loads the native addon
// (start-up), and one where the addon cannot load still runs on SHA-256. A require at run time
// also keeps it out of the CLI bundles: it resolves from the app's node_modules.
const requireHere = createRequire(import.meta.url);
let blakeHash: typeof BlakeHash | null | undefined;

function loadBlakeHash(): typeof BlakeHash | null {
  if (blakeHash === undefined) {
    try {
      blakeHash = requireHere("@napi-rs/blake-hash") as typeof BlakeHash;
    } catch {
      blakeHash = null;
    }
  }
  return blakeHash;
}

/** The algorithms this process can compute, SHA-256 first (what a peer is offered or may pick from). */
export function availableDigests(): DigestAlgorithm[] {
  return loadBlakeHash() ? ["sha256", "blake3"] : ["sha256"];
}

/**
 * A streaming digest: Node's SHA-256 Hash and @napi-rs/blake-hash's BLAKE3 hasher both fit. Only
 * SHA-256 can be copied mid-stream (BLAKE3's native hasher has no copy), so code that keeps
 * intermediate states asks `canCopy` and re-hashes where it cannot (prefix-digest.ts).
 */
export interface Hasher {
  update(data: Uint8Array): unknown;
  digest(encoding: "hex"): string;
}

/** A fresh hasher for `algorithm`. */
export function createHasher(algorithm: DigestAlgorithm): Hasher {
  switch (algorithm) {
    case "sha256":
      return createHash("sha256");
    case "blake3": {
      const native = loadBlakeHash();
      if (!native) throw new Error("BLAKE3 is not available here: @napi-rs/blake-hash did not load");
      return new native.Blake3Hasher();
    }
    default:
      return assertNever(algorithm);
  }
}

/** Whether `algorithm`'s hasher can be copied mid-stream: SHA-256's can, BLAKE3's native one cannot. */
export function canCopy(algorithm: DigestAlgorithm): boolean {
  return algorithm === "sha256";
}

/** A copy of a hasher of an algorithm that canCopy: Node's Hash.copy(). */
export function copyHasher(hasher: Hasher): Hasher {
  return (hasher as Hash).copy();
}

/** Hex digest of one buffer. */
export function digestOf(algorithm: DigestAlgorithm, data: Uint8Array): string {
  const hasher = createHasher(algorithm);
  hasher.update(data);
  return hasher.digest("hex");
}

/** A hasher over the first `length` bytes of `fd`, read synchronously (a rare path: see LocalPartial.startAt). */
export function hashFileStartSync(fd: number, length: number, algorithm: DigestAlgorithm): Hasher {
  const hasher = createHasher(algorithm);
  const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(length, 1024 * 1024)));
  for (let at = 0; at < length; ) {
    const got = readSync(fd, buffer, 0, Math.min(buffer.length, length - at), at);
    if (got === 0) throw new Error(`the file ended at ${at} of ${length} bytes`);
    hasher.update(buffer.subarray(0, got));
    at += got;
  }
  return hasher;
}
