import type { Message } from "./messages.js";

/** A decoded frame: a validated control message, or a slice of file bytes. */
export type Frame = { kind: "control"; message: Message } | { kind: "data"; payload: Buffer };
