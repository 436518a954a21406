import { expect } from "vitest";
import { ClientError } from "@ferry/client-core";

/** The ClientError a promise rejects with (fails the test if it resolves or throws anything else). */
export async function clientFailure(promise: Promise<unknown>): Promise<ClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ClientError);
  return error as ClientError;
}

/** Cleanups registered during a test, run newest first by `runAll` (call it from afterEach). */
export class Cleanups {
  readonly #tasks: (() => Promise<void>)[] = [];

  add(task: () => Promise<void>): void {
    this.#tasks.push(task);
  }

  async runAll(): Promise<void> {
    for (const task of this.#tasks.splice(0).reverse()) await task();
  }
}
