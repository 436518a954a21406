import { CAPABILITIES, folderMarker, pathProblem, quoteName, type ClientMessage, type ListEntry } from "@ferry/protocol";
import { ClientError } from "./errors.js";
import type { RequestHandler } from "./request.js";
import type { Wire } from "./wire.js";

/** Sends one request's single message in its turn and resolves with the handler's value. */
export async function request<T>(wire: Wire, build: (id: number) => ClientMessage, handler: RequestHandler<T>): Promise<T> {
  const request = wire.request(handler);
  try {
    await request.turn();
    request.send(build(request.id));
    request.doneSending();
  } catch (error) {
    request.abandon();
    throw error;
  }
  return request.answer;
}

/**
 * Every stored file (under folder `folder`, if given), with size, mtime and SHA-256. Names the
 * server sends are checked first: each must be a safe relative path inside the folder asked for.
 */
export async function list(wire: Wire, folder?: string, options: { emptyFolders?: boolean } = {}): Promise<ListEntry[]> {
  wire.require(CAPABILITIES.LIST, "listing");
  if (folder !== undefined) {
    wire.require(CAPABILITIES.FOLDERS, "folders");
    const problem = pathProblem(folder);
    if (problem) throw new ClientError(`${quoteName(folder)}: ${problem}`, { code: "BAD_NAME" });
  }
  // Empty folders ("path/" entries) only from servers that have them, and only when asked for.
  const folders = options.emptyFolders === true && wire.supports(CAPABILITIES.EMPTY_FOLDERS);
  const entries: ListEntry[] = [];
  return request<ListEntry[]>(
    wire,
    (id) => ({ type: "list", id, ...(folder !== undefined ? { path: folder } : {}), ...(folders ? { folders: true as const } : {}) }),
    {
      onMessage(message) {
      if (message.type !== "listing") throw new ClientError(`unexpected ${message.type} for a listing`, { code: "PROTOCOL_ERROR" });
      for (const entry of message.entries) {
        const asFolder = folders ? folderMarker(entry.name) : null;
        const problem = pathProblem(asFolder ?? entry.name) ?? (folder !== undefined && !entry.name.startsWith(`${folder}/`) ? `not inside ${folder}` : null);
        // A server that lists "../x" is not to be trusted with anything else either.
        if (problem) throw new ClientError(`server listed an unsafe name ${JSON.stringify(entry.name)}: ${problem}`, { code: "PROTOCOL_ERROR" });
        entries.push(entry);
      }
      return message.more ? { kind: "more" } : { kind: "done", value: entries };
      },
    },
  );
}

/** Deletes a stored file. */
export async function remove(wire: Wire, name: string): Promise<void> {
  wire.require(CAPABILITIES.DELETE, "deleting");
  const asFolder = folderMarker(name);
  if (asFolder !== null) wire.require(CAPABILITIES.EMPTY_FOLDERS, "deleting an empty folder");
  const problem = pathProblem(asFolder ?? name);
  if (problem) throw new ClientError(`${quoteName(name)}: ${problem}`, { code: "BAD_NAME" });
  await request<void>(
    wire,
    (id) => ({ type: "delete", id, name }),
    {
      onMessage(message) {
        if (message.type !== "deleted" || message.name !== name) {
          throw new ClientError(`unexpected ${message.type} for a delete`, { code: "PROTOCOL_ERROR" });
        }
        return { kind: "done", value: undefined };
      },
    },
  );
}
