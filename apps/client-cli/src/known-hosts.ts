import { appendFile, mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parseFingerprint } from "@ferry/protocol";

/**
 * Remembered server certificates, like SSH's known_hosts: one `host:port SHA256:…` per line;
 * `#` comments and blank lines are ignored. First contact records the fingerprint; later
 * connections pin it, so a changed certificate is refused loudly instead of trusted silently.
 */
export class KnownHosts {
  readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  /** The remembered fingerprint of `host:port`, or null. */
  async lookup(host: string, port: number): Promise<string | null> {
    const text = await readFile(this.file, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return "";
      throw error;
    });
    const key = entryKey(host, port);
    for (const line of text.split("\n")) {
      const [name, fingerprint] = line.trim().split(/\s+/);
      if (name === key && fingerprint) return parseFingerprint(fingerprint);
    }
    return null;
  }

  /** Remembers `fingerprint` for `host:port` (the file and its folder are made owner-only). */
  async remember(host: string, port: number, fingerprint: string): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    await appendFile(this.file, `${entryKey(host, port)} ${fingerprint}\n`, { mode: 0o600 });
  }
}

function entryKey(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
