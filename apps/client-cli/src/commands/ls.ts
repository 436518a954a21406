import { ClientError, type FerryClient } from "@ferry/client-core";
import { CAPABILITIES, type ListEntry } from "@ferry/protocol";
import { EXIT, isConnectionError } from "../exit-codes.js";
import type { Reporter } from "../report.js";

interface RemoteOptions {
  connect: (signal: AbortSignal) => Promise<FerryClient>;
  signal: AbortSignal;
  reporter: Reporter;
}

/** `proj/` names the folder `proj` itself (not rsync's "its contents"): trailing slashes go. */
export function remoteName(name: string): string {
  const trimmed = name.replace(/\/+$/u, "");
  return trimmed === "" ? name : trimmed;
}

/** `ferry ls [PATH] [--json]`: stored files with size, mtime and the SHA-256 recorded at upload. */
export async function lsCommand(folder: string | undefined, options: RemoteOptions): Promise<number> {
  const client = await options.connect(options.signal);
  try {
    options.reporter.listing(await client.list(folder === undefined ? undefined : remoteName(folder)));
  } finally {
    await client.close();
  }
  return EXIT.OK;
}

/**
 * `ferry rm [-r] NAME...`: deletes each; a missing one is reported and the others still go. A
 * folder needs -r, which deletes every file in it (the server removes folders left empty).
 */
export async function rmCommand(names: string[], options: RemoteOptions & { recursive: boolean }): Promise<number> {
  const client = await options.connect(options.signal);
  let failures = 0;
  try {
    for (const given of names) failures += await removeOne(client, given, options);
  } finally {
    await client.close();
  }
  return failures === 0 ? EXIT.OK : EXIT.SOME_FAILED;
}

/** Deletes one stored file, or with `recursive` a folder; returns how many deletes failed. */
export async function removeOne(client: FerryClient, given: string, options: RemoteOptions & { recursive: boolean }): Promise<number> {
  const name = remoteName(given);
  const { reporter } = options;
  const folderNamed = given.endsWith("/");
  try {
    let entries: ListEntry[] | undefined;
    if (folderNamed) entries = await client.list(name, { emptyFolders: true });
    else {
      try {
        await client.delete(name);
        reporter.deleted(name);
        return 0;
      } catch (error) {
        // Not a file: it may be a folder, which a LIST of it tells (and -r empties).
        const maybeFolder = error instanceof ClientError && error.code === "NOT_FOUND" && client.server.capabilities.includes(CAPABILITIES.FOLDERS);
        entries = maybeFolder ? await client.list(name, { emptyFolders: true }).catch(() => undefined) : undefined;
        if (!entries) throw error;
      }
    }
    if (!options.recursive) throw new ClientError(`${name} is a folder; use ferry rm -r to delete it with everything in it`, { code: "IS_A_FOLDER" });
    return await removeFolder(client, name, entries, reporter);
  } catch (error) {
    reporter.failed(given, error, "delete");
    if (isConnectionError(error)) throw error;
    return 1;
  }
}

/** Everything in the folder, then the folder itself if it is still there (an empty one lists nothing). */
async function removeFolder(client: FerryClient, name: string, entries: { name: string }[], reporter: Reporter): Promise<number> {
  const failures = await removeAll(client, entries.map((entry) => entry.name), reporter);
  if (failures === 0 && client.server.capabilities.includes(CAPABILITIES.EMPTY_FOLDERS)) {
    // Deleting its last file already removed it (the server prunes emptied folders): that is fine.
    await client.delete(`${name}/`).then(
      () => reporter.deleted(`${name}/`),
      (error: unknown) => {
        if (!(error instanceof ClientError && error.code === "NOT_FOUND")) throw error;
      },
    );
  }
  return failures;
}

async function removeAll(client: FerryClient, names: string[], reporter: Reporter): Promise<number> {
  let failures = 0;
  // Files first, then empty folders ("path/"), deepest first: each is empty by the time it goes.
  const ordered = [...names.filter((n) => !n.endsWith("/")), ...names.filter((n) => n.endsWith("/")).sort((a, b) => b.length - a.length)];
  for (const name of ordered) {
    try {
      await client.delete(name);
      reporter.deleted(name);
    } catch (error) {
      failures++;
      reporter.failed(name, error, "delete");
      if (isConnectionError(error)) throw error;
    }
  }
  return failures;
}
