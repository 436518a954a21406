import { z } from "zod";
import { WIRE_ERROR_CODES } from "./error-codes.js";
import { LIMITS } from "./wire-constants.js";

// Building blocks. z.int() only admits safe integers, so sizes beyond 2^53 fail validation.
const id = z.int().min(0).max(LIMITS.MAX_ID);
const size = z.int().min(0).max(LIMITS.MAX_FILE_SIZE);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "lowercase hex SHA-256");
// Names are length-checked here only loosely; the real rules live in file-name.ts and are applied
// by the receiver, which must answer a bad name with BAD_NAME rather than kill the connection.
const name = z.string().max(4 * LIMITS.MAX_NAME_BYTES);
const agent = z.string().max(128);

/** Client → server, first frame after the preamble. */
export const HelloSchema = z.strictObject({
  type: z.literal("hello"),
  version: z.int().min(1).max(0xffff),
  agent,
});

/** Server → client, answer to HELLO: the server's limits and what it can do. */
export const WelcomeSchema = z.strictObject({
  type: z.literal("welcome"),
  version: z.int().min(1).max(0xffff),
  agent,
  limits: z.strictObject({
    maxDataPayload: z.int().min(1).max(0xffff_ffff),
    maxFileSize: size,
  }),
  capabilities: z.array(z.string().max(64)).max(64),
});

/** Client → server: start an upload. DATA frames with exactly `size` bytes follow. */
export const PutSchema = z.strictObject({
  type: z.literal("put"),
  id,
  name,
  size,
});

/** Client → server: all bytes are sent; this is their SHA-256. */
export const PutEndSchema = z.strictObject({
  type: z.literal("put_end"),
  id,
  sha256,
});

/** Client → server: give up the upload in progress. */
export const CancelSchema = z.strictObject({
  type: z.literal("cancel"),
  id,
});

/** Server → client: the upload is verified, durable and published under `name`. */
export const StoredSchema = z.strictObject({
  type: z.literal("stored"),
  id,
  name,
  size,
  sha256,
});

/** Either direction: something failed. With `id` it concerns that upload only. */
export const ErrorMessageSchema = z.strictObject({
  type: z.literal("error"),
  id: id.optional(),
  code: z.enum(WIRE_ERROR_CODES),
  message: z.string().max(1024),
});

/** Every control message of protocol v1, discriminated on `type`. */
export const MessageSchema = z.discriminatedUnion("type", [
  HelloSchema,
  WelcomeSchema,
  PutSchema,
  PutEndSchema,
  CancelSchema,
  StoredSchema,
  ErrorMessageSchema,
]);

export type Message = z.infer<typeof MessageSchema>;
export type MessageType = Message["type"];
export type HelloMessage = z.infer<typeof HelloSchema>;
export type WelcomeMessage = z.infer<typeof WelcomeSchema>;
export type PutMessage = z.infer<typeof PutSchema>;
export type PutEndMessage = z.infer<typeof PutEndSchema>;
export type CancelMessage = z.infer<typeof CancelSchema>;
export type StoredMessage = z.infer<typeof StoredSchema>;
export type ErrorMessage = z.infer<typeof ErrorMessageSchema>;

/** For exhaustive switches: the compiler proves this is unreachable. */
export function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
