import type { FerryClient } from "@ferry/client-core";
import { EXIT, isConnectionError } from "../exit-codes.js";
import type { Reporter } from "../report.js";

/** `ferry ls [PATH] [--json]`: stored files with size, mtime and the SHA-256 recorded at upload. */
export async function lsCommand(folder: string | undefined, options: { connect: (signal: AbortSignal) => Promise<FerryClient>; signal: AbortSignal; reporter: Reporter }): Promise<number> {
  const client = await options.connect(options.signal);
  try {
    options.reporter.listing(await client.list(folder));
  } finally {
    await client.close();
  }
  return EXIT.OK;
}

/** `ferry rm NAME...`: deletes each; a missing one is reported and the others still go. */
export async function rmCommand(names: string[], options: { connect: (signal: AbortSignal) => Promise<FerryClient>; signal: AbortSignal; reporter: Reporter }): Promise<number> {
  const client = await options.connect(options.signal);
  let failures = 0;
  try {
    for (const name of names) {
      try {
        await client.delete(name);
        options.reporter.deleted(name);
      } catch (error) {
        failures++;
        options.reporter.failed(name, error);
        if (isConnectionError(error)) throw error;
      }
    }
  } finally {
    await client.close();
  }
  return failures === 0 ? EXIT.OK : EXIT.SOME_FAILED;
}
