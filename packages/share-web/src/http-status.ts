import type { ServerErrorCode } from "@ferry/server-core";

/**
 * The HTTP status for a storage refusal. Names a link cannot reach and names that break the rules
 * (BAD_NAME) both answer 404: a URL with a path trick looks exactly like a missing file.
 */
export function statusFor(code: ServerErrorCode): number {
  switch (code) {
    case "NOT_FOUND":
    case "BAD_NAME":
      return 404;
    case "QUOTA_EXCEEDED":
    case "FILE_TOO_LARGE":
      return 413;
    case "NO_SPACE":
      return 507;
    case "IN_PROGRESS":
      return 423;
    case "ALREADY_EXISTS":
      return 409;
    default:
      return 500;
  }
}
