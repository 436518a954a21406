import { readFileSync } from "node:fs";
import ignore, { type Ignore } from "ignore";
import { UsageError } from "./settings.js";

/** One --exclude / --include as given. */
export interface FilterRule {
  pattern: string;
  include: boolean;
}

/**
 * --exclude, --include and --exclude-from, in the order given on the command line (commander calls
 * each option's parser left to right, so one shared list keeps that order). Filled while parsing.
 */
export const filterRules: FilterRule[] = [];

export function collectExclude(pattern: string): FilterRule[] {
  filterRules.push({ pattern, include: false });
  return filterRules;
}

export function collectInclude(pattern: string): FilterRule[] {
  filterRules.push({ pattern, include: true });
  return filterRules;
}

/** --exclude-from FILE: one exclude pattern per line; blank lines and lines starting with # are skipped. */
export function collectExcludeFrom(file: string): FilterRule[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`--exclude-from ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() !== "" && !line.startsWith("#")) filterRules.push({ pattern: line.trimEnd(), include: false });
  }
  return filterRules;
}

/**
 * Which paths a sync leaves alone. Patterns are gitignore's (`*.tmp`, `dir/`, `**\/build`), matched
 * by the `ignore` package against the path inside the folder being synced; rules are tried in the
 * order given and the first that matches decides, as rsync's filter rules do (a path no rule matches
 * is included). Applied both ways, and an excluded path is never deleted by --delete.
 */
export class PathFilter {
  readonly #rules: { matcher: Ignore; include: boolean }[];

  constructor(rules: readonly FilterRule[]) {
    this.#rules = rules.map((rule) => {
      try {
        return { matcher: ignore().add(rule.pattern), include: rule.include };
      } catch (error) {
        throw new UsageError(`bad pattern ${JSON.stringify(rule.pattern)}: ${(error as Error).message}`);
      }
    });
  }

  get empty(): boolean {
    return this.#rules.length === 0;
  }

  /** `relative`: "/"-separated, inside the synced folder; a folder ends with "/". */
  excludes(relative: string): boolean {
    for (const rule of this.#rules) if (rule.matcher.ignores(relative)) return !rule.include;
    return false;
  }
}
