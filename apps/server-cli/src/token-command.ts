import { Command, Option } from "commander";
import { PERMISSIONS, UserSchema, type Permission } from "@ferry/protocol";
import { hashToken, newToken } from "@ferry/server-core";
import { ConfigError } from "./config.js";

/**
 * `ferry-server token NAME`: makes a random token and prints the user entry to add to the config
 * file's "users". The token is shown once, on stdout, and nowhere else: the server keeps only its
 * SHA-256, so a lost token is replaced, never recovered.
 */
export function tokenCommand(): Command {
  return new Command("token")
    .description("make a token for a new user and print the config entry to add under \"users\"")
    .argument("<name>", "user name (letters, digits, '.', '_' or '-')")
    .addOption(
      new Option("--permissions <list>", `comma-separated: ${PERMISSIONS.join(", ")}`).default("read,write"),
    )
    .option("--user-dir <path>", "the user's folder inside the storage dir (their whole view)")
    .option("--quota <bytes>", "most bytes the user's folder may hold")
    .action((name: string, flags: { permissions: string; userDir?: string; quota?: string }) => {
      const token = newToken();
      const permissions = flags.permissions.split(",").map((p) => p.trim()).filter(Boolean) as Permission[];
      const entry = {
        name,
        tokenSha256: hashToken(token),
        permissions,
        ...(flags.userDir ? { dir: flags.userDir } : {}),
        ...(flags.quota ? { quotaBytes: wholeBytes(flags.quota) } : {}),
      };
      const checked = UserSchema.safeParse(entry);
      if (!checked.success) {
        throw new ConfigError(`invalid user: ${checked.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
      }
      process.stdout.write(
        `token for ${name} (shown once; give it to the user, who sets FERRY_TOKEN or --token):\n\n  ${token}\n\n` +
          `add this entry to "users" in the server's config file:\n\n${JSON.stringify(checked.data, null, 2)}\n`,
      );
    });
}

/** --quota as a whole number of bytes, or a usage error that says so (not zod's "received NaN"). */
function wholeBytes(text: string): number {
  if (!/^\d+$/.test(text)) throw new ConfigError(`--quota must be a whole number of bytes, not ${JSON.stringify(text)}`);
  return Number(text);
}
