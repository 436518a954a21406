import { LIMITS } from "./wire-constants.js";

/** Prefix of the receiver's own temporary files; a peer may not use it. */
export const RESERVED_NAME_PREFIX = ".ferry-";

// C0 controls, DEL and C1 controls: invisible, and some (ESC) drive terminals that print names.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/u;
// Bidi overrides and isolates make "evil\u202Etxt.exe" display as "evilexe.txt".
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;
// Names Windows maps to devices whatever the extension (CON, NUL.txt, COM1…).
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/iu;
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Why `name` is not a safe base name to store, or null when it is. Names from the network are data,
 * never paths: anything that could be read as a path, hide itself, or mislead a terminal is refused.
 */
export function fileNameProblem(name: string): string | null {
  if (name.length === 0) return "name is empty";
  if (name === "." || name === "..") return "name is a directory reference";
  if (name.includes("/") || name.includes("\\")) return "name contains a path separator";
  if (LONE_SURROGATE.test(name)) return "name is not valid Unicode";
  // "é" as one code point (NFC) and as e + U+0301 (NFD) look the same but are different files on
  // Linux: a twin could pass for another file. The wire carries NFC only; clients normalise.
  if (name.normalize("NFC") !== name) return "name is not in Unicode NFC form";
  if (CONTROL_CHARS.test(name)) return "name contains a control character";
  if (BIDI_CONTROLS.test(name)) return "name contains a bidirectional control character";
  if (Buffer.byteLength(name, "utf8") > LIMITS.MAX_NAME_BYTES) {
    return `name is longer than ${LIMITS.MAX_NAME_BYTES} bytes`;
  }
  if (/[. ]$/u.test(name)) return "name ends with a dot or a space";
  if (WINDOWS_DEVICE.test(name)) return "name is a reserved device name";
  if (name.startsWith(RESERVED_NAME_PREFIX)) return `names starting with ${RESERVED_NAME_PREFIX} are reserved`;
  return null;
}

/** Deepest folder nesting a path may have. */
export const MAX_PATH_DEPTH = 32;
/** Longest path, in UTF-8 bytes (Linux PATH_MAX). */
export const MAX_PATH_BYTES = 4096;

/**
 * Why `path` is not a safe relative path of stored file, or null when it is. A path is one or
 * more names joined by "/", each of which must pass fileNameProblem: no empty, "." or ".."
 * component, no leading "/", no backslash, nothing a terminal or another OS would misread.
 */
export function pathProblem(path: string): string | null {
  if (Buffer.byteLength(path, "utf8") > MAX_PATH_BYTES) return `path is longer than ${MAX_PATH_BYTES} bytes`;
  const parts = path.split("/");
  if (parts.length > MAX_PATH_DEPTH) return `path is nested deeper than ${MAX_PATH_DEPTH} levels`;
  for (const part of parts) {
    const problem = fileNameProblem(part);
    if (problem) return parts.length === 1 ? problem : `${JSON.stringify(part)} in the path: ${problem}`;
  }
  return null;
}

/** "a.txt" → "a (n).txt"; ".bashrc" → ".bashrc (n)"; trims the stem to stay within 255 bytes. */
export function numberedName(name: string, n: number): string {
  const dot = name.lastIndexOf(".");
  const hasExt = dot > 0;
  let stem = hasExt ? name.slice(0, dot) : name;
  const ext = hasExt ? name.slice(dot) : "";
  const suffix = ` (${n})`;
  while (stem.length > 1 && Buffer.byteLength(stem + suffix + ext, "utf8") > LIMITS.MAX_NAME_BYTES) {
    stem = Array.from(stem).slice(0, -1).join("");
  }
  return `${stem}${suffix}${ext}`;
}

/** numberedName applied to the last component of a path: "dir/a.txt" → "dir/a (n).txt". */
export function numberedPath(path: string, n: number): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? numberedName(path, n) : `${path.slice(0, slash + 1)}${numberedName(path.slice(slash + 1), n)}`;
}
