/** One line typed at the prompt, understood. */
export type ShellLine =
  | { verb: "empty" }
  | { verb: "quit" }
  | { verb: "help" }
  | { verb: "ls"; arg?: string }
  | { verb: "put" | "get" | "rm"; arg: string }
  | { verb: "usage"; message: string };

export const SHELL_HELP = `Commands:
  FILE          send FILE (same as put FILE)
  put FILE      send FILE
  get NAME      download a file or folder into the current directory (refuses to overwrite)
  ls [FOLDER]   list the files on the server
  rm NAME       delete NAME on the server
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
    case "put":
    case "get":
    case "rm":
      return rest ? { verb: word, arg: rest } : { verb: "usage", message: `${word} needs a name: ${word} NAME` };
    default:
      return { verb: "put", arg: line }; // the lab's loop: a bare file name means send it
  }
}
