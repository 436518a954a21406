/**
 * The path of a share URL split into decoded segments, strictly: each segment is percent-decoded
 * on its own, so an encoded slash (%2F) stays inside its segment and is refused rather than taken
 * as a separator; invalid or overlong UTF-8 (%C0%AE) and NUL fail decoding; "." and ".." are
 * refused. null means "reaches nothing" and is answered 404 like any unknown link.
 */
export function splitSharePath(rawUrl: string): string[] | null {
  const pathname = rawUrl.split(/[?#]/, 1)[0]!;
  if (!pathname.startsWith("/")) return null;
  const segments: string[] = [];
  const parts = pathname.slice(1).split("/");
  for (const [index, part] of parts.entries()) {
    // A trailing slash ("/s/x/d/docs/") is the folder itself, not an empty name.
    if (part === "" && index === parts.length - 1) break;
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      return null;
    }
    if (decoded === "" || decoded === "." || decoded === ".." || decoded.includes("/") || decoded.includes("\\") || decoded.includes("\0")) return null;
    segments.push(decoded);
  }
  return segments;
}

/** A stored name as a URL path, each segment encoded (the inverse of splitSharePath). */
export function encodeSharePath(name: string): string {
  return name.split("/").map(encodeURIComponent).join("/");
}
