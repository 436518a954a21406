import type { ServerMessage } from "@ferry/protocol";

/**
 * Answers that must leave in request order while the work behind them (fsync, publish) runs in
 * parallel: each answer is sent once it is ready and every earlier one has been sent.
 */
export class AnswerQueue {
  readonly #send: (message: ServerMessage) => void;
  #tail: Promise<void> = Promise.resolve();
  /** One promise per answer not yet sent, oldest first. */
  readonly #unsent: Promise<void>[] = [];

  constructor(send: (message: ServerMessage) => void) {
    this.#send = send;
  }

  /** Queues `answer`; it must never reject (failures are answers too). */
  push(answer: Promise<ServerMessage>): void {
    const sent = this.#tail
      .then(() => answer)
      .then((message) => this.#send(message))
      .catch(() => undefined) // a dead socket must not break the chain for later answers
      .finally(() => void this.#unsent.shift());
    this.#unsent.push(sent);
    this.#tail = sent;
  }

  /** Waits until fewer than `limit` answers are pending: the oldest only, so work keeps overlapping. */
  async room(limit: number): Promise<void> {
    while (this.#unsent.length >= limit) await this.#unsent[0];
  }

  /** Answers queued and not yet sent. */
  get pending(): number {
    return this.#unsent.length;
  }

  /** Resolves once every answer queued so far has been sent. */
  idle(): Promise<void> {
    return this.#tail;
  }
}
