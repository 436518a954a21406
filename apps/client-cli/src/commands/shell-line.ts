/** One line typed at the prompt, understood. */
export type ShellLine =
  | { verb: "empty" }
  | { verb: "quit" }
  | { verb: "help" }
  | { verb: "ls"; arg?: string }
  | { verb: "put"; arg: string; to?: string }
  | { verb: "get"; arg: string }
  | { verb: "rm"; arg: string; recursive?: boolean }
  | { verb: "usage"; message: string };

export const SHELL_HELP = `Commands:
  FILE          send FILE (same as put FILE)
  put FILE      send FILE (put --to FOLDER/ FILE: into that server folder)
  get NAME      download a file or folder into the current directory (refuses to overwrite)
  ls [FOLDER]   list the files on the server
  rm NAME       delete NAME on the server (rm -r FOLDER: the folder and everything in it)
  help          this text
  quit, exit    leave (so does Ctrl+D)
A name is the rest of the line, spaces included.`;

/** Splits a prompt line into a verb and its argument (the rest of the line, spaces kept). */
export function parseShellLine(raw: string): ShellLine {
  const line = raw.trim();
  if (line === "") return { verb: "empty" };
  const match = /^(\S+)(?:\s+(.*))?$/.exec(line)!;
  const word = match[1]!;
  const rest = match[2]?.trim() ?? "";
  switch (word) {
    case "quit":
    case "exit":
      return { verb: "quit" };
    case "help":
    case "?":
      return { verb: "help" };
    case "ls":
      return rest ? { verb: "ls", arg: rest } : { verb: "ls" };
    case "put": {
      // put --to FOLDER/ FILE: the folder is one word; the file is the rest of the line.
      const to = /^--to\s+(\S+)\s+(.+)$/.exec(rest);
      if (to) return to[1]!.endsWith("/") ? { verb: "put", arg: to[2]!.trim(), to: to[1]! } : { verb: "usage", message: `--to names a folder: --to ${to[1]}/` };
      if (rest.startsWith("--to")) return { verb: "usage", message: "put --to FOLDER/ FILE" };
      return rest ? { verb: "put", arg: rest } : { verb: "usage", message: "put needs a name: put NAME" };
    }
    case "rm": {
      const recursive = /^-r\s+(.+)$/.exec(rest);
      if (recursive) return { verb: "rm", arg: recursive[1]!.trim(), recursive: true };
      return rest ? { verb: "rm", arg: rest } : { verb: "usage", message: "rm needs a name: rm NAME" };
    }
    case "get":
      return rest ? { verb: word, arg: rest } : { verb: "usage", message: `${word} needs a name: ${word} NAME` };
    default:
      return { verb: "put", arg: line }; // the lab's loop: a bare file name means send it
  }
}
