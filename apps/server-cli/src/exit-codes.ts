import { ServerError } from "@ferry/server-core";
import { ConfigError } from "./config.js";

/** Documented exit codes of ferry-server (also listed in --help). */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  STORAGE: 3,
  LISTEN: 4,
} as const;

/** The one place that maps an error to an exit code. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof ConfigError) return EXIT.USAGE;
  if (error instanceof ServerError) {
    switch (error.code) {
      case "INVALID_CONFIG":
        return EXIT.USAGE;
      case "STORAGE_UNUSABLE":
        return EXIT.STORAGE;
      case "LISTEN_FAILED":
        return EXIT.LISTEN;
      default:
        return EXIT.FAILURE;
    }
  }
  return EXIT.FAILURE;
}
