import { LIMITS } from "./wire-constants.js";

/** Prefix of the receiver's own temporary files; a peer may not use it. */
export const RESERVED_NAME_PREFIX = ".ferry-";

// C0 controls, DEL and C1 controls: invisible, and some (ESC) drive terminals that print names.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/u;
// Line and paragraph separators end a line in a terminal as a newline does.
const LINE_SEPARATORS = /[\u2028\u2029]/u;
// Bidi overrides and isolates make "evil\u202Etxt.exe" display as "evilexe.txt".
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;
/**
 * Characters that draw nothing and that no script needs to spell a name: "report\u200B.pdf" would
 * pass for "report.pdf". Unicode's default-ignorable code points, less the three that writing
 * needs (ZWNJ U+200C and ZWJ U+200D in Indic and Arabic scripts and emoji sequences, variation
 * selectors U+FE00–U+FE0F and U+E0100–U+E01EF in emoji and CJK) and the Mongolian free variation
 * selectors U+180B–U+180D. protocol.md §6 lists the set; names differing only in the characters
 * kept remain distinct.
 */
// eslint-disable-next-line no-misleading-character-class -- the combining grapheme joiner is listed to be matched alone
const INVISIBLE = /[\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u180f\u200b\u2060-\u2065\u206a-\u206f\u3164\ufeff\uffa0\u{1bca0}-\u{1bca3}\u{1d173}-\u{1d17a}\u{e0000}-\u{e007f}]/u;
// The reserved prefix in any case: on a case-insensitive file system (macOS, Windows shares)
// ".Ferry-index.jsonl" is the server's own index.
const RESERVED_PREFIX = /^\.ferry-/i;
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
  if (LINE_SEPARATORS.test(name)) return "name contains a line separator";
  if (BIDI_CONTROLS.test(name)) return "name contains a bidirectional control character";
  if (INVISIBLE.test(name)) return "name contains an invisible character";
  if (Buffer.byteLength(name, "utf8") > LIMITS.MAX_NAME_BYTES) {
    return `name is longer than ${LIMITS.MAX_NAME_BYTES} bytes`;
  }
  if (/[. ]$/u.test(name)) return "name ends with a dot or a space";
  if (WINDOWS_DEVICE.test(name)) return "name is a reserved device name";
  if (RESERVED_PREFIX.test(name)) return `names starting with ${RESERVED_NAME_PREFIX} (in any case) are reserved`;
  return null;
}

/** Whether `name` (a directory entry) is one of the server's own files: the reserved prefix in any case. */
export function isReservedName(name: string): boolean {
  return RESERVED_PREFIX.test(name);
}

/**
 * Orders names by Unicode code point, which is also the byte order of their UTF-8 (protocol.md
 * §4.3). JavaScript's `<` compares UTF-16 code units, which puts U+10000 and above (surrogate pairs)
 * before U+E000–U+FFFF; the two orders differ only there.
 */
export function compareNames(a: string, b: string): number {
  const end = Math.min(a.length, b.length);
  for (let i = 0; i < end; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A UTF-16 code unit's place in code point order: surrogates (astral code points) after U+FFFF. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}

/**
 * A name quoted for an error message: in double quotes, control characters as \u escapes so a
 * terminal shows them harmlessly. Unlike JSON.stringify, "a\\b" keeps its one backslash, so
 * people see the name they typed.
 */
export function quoteName(name: string): string {
  // eslint-disable-next-line no-control-regex -- escaping control characters is the point
  return `"${name.replace(/[\u0000-\u001f\u007f-\u009f]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}"`;
}

/**
 * With capability "empty-folders" a name ending in "/" means the folder itself ("photos/2024/"):
 * the folder's path (without the slash) then follows pathProblem's rules. Null for a file's name.
 */
export function folderMarker(name: string): string | null {
  return name.endsWith("/") && name.length > 1 && !name.endsWith("//") ? name.slice(0, -1) : null;
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
    if (problem) return parts.length === 1 ? problem : `${quoteName(part)} in the path: ${problem}`;
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
