import type { DeleteMessage, GetMessage, ListMessage, Permission, PutMessage } from "@ferry/protocol";
import type { Identity } from "./auth.js";

/**
 * Why `identity` may not make `request`, or null when it may (docs/protocol.md §4.4): PUT needs
 * write, and overwriting needs delete as well (it destroys a file); GET and LIST need read;
 * DELETE needs delete.
 */
export function forbidden(identity: Identity, request: PutMessage | GetMessage | ListMessage | DeleteMessage): string | null {
  const need: Permission[] =
    request.type === "put" ? (request.onConflict === "overwrite" ? ["write", "delete"] : ["write"])
    : request.type === "delete" ? ["delete"]
    : ["read"];
  const missing = need.filter((permission) => !identity.can(permission));
  if (missing.length === 0) return null;
  return `user ${identity.user?.name ?? "?"} lacks the ${missing.join(" and ")} permission${missing.length > 1 ? "s" : ""}`;
}
