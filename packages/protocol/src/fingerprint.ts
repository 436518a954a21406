/**
 * Certificate fingerprints as people see them: "SHA256:" + unpadded base64 of the SHA-256 of the
 * certificate's DER bytes (the form `ssh` prints). Hex, with or without colons (the form
 * `openssl x509 -fingerprint -sha256` and Node's `fingerprint256` print), is accepted as input.
 */

/** Formats 32 digest bytes, or Node's "AB:CD:…" hex, as "SHA256:<base64>". */
export function formatFingerprint(digest: Uint8Array | string): string {
  const bytes = typeof digest === "string" ? Buffer.from(digest.replaceAll(":", ""), "hex") : Buffer.from(digest);
  return `SHA256:${bytes.toString("base64").replace(/=+$/, "")}`;
}

/** Normalises a fingerprint typed by a person to the "SHA256:<base64>" form; null if it is not one. */
export function parseFingerprint(text: string): string | null {
  const body = text.trim().replace(/^sha256:/i, "");
  const hex = body.replaceAll(":", "");
  if (/^[0-9a-fA-F]{64}$/.test(hex)) return formatFingerprint(Buffer.from(hex, "hex"));
  if (/^[A-Za-z0-9+/]{43}=?$/.test(body)) {
    const bytes = Buffer.from(body, "base64");
    if (bytes.length === 32) return formatFingerprint(bytes);
  }
  return null;
}
