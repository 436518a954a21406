import { expect } from "vitest";
import { ClientError } from "../errors.js";

/** The code of the ClientError a promise rejects with (fails the test on anything else). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ClientError);
  return (error as ClientError).code;
}
