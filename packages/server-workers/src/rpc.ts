import { ServerError, type ServerErrorCode } from "@ferry/server-core";

/**
 * One end of a message channel between processes (node:cluster's IPC: process.send and
 * worker.send), or two ends in one process for tests. Messages must survive JSON.
 */
export interface Channel {
  send(message: object): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** What crosses the channel; `ferry` keeps these apart from other users of it (prom-client's metrics requests). */
type Message =
  | { ferry: "call"; id: number; method: string; args: unknown[] }
  | { ferry: "reply"; id: number; value?: unknown; error?: { code: string; message: string } }
  | { ferry: "note"; method: string; args: unknown[] };

type Handler = (...args: never[]) => unknown;

/**
 * Calls and notes over a Channel, both ways. A call's ServerError arrives as a ServerError with the
 * same code; anything else as INTERNAL. Notes are one-way and keep their order with calls.
 */
export class RpcPeer {
  readonly #channel: Channel;
  readonly #handlers = new Map<string, Handler>();
  readonly #waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 0;
  #closed: Error | undefined;

  constructor(channel: Channel) {
    this.#channel = channel;
    channel.onMessage((message) => this.#receive(message));
  }

  /** Answers `method` calls and notes with `handler` (its result, awaited, is the reply). */
  handle<A extends unknown[], R>(method: string, handler: (...args: A) => R): this {
    this.#handlers.set(method, handler as unknown as Handler);
    return this;
  }

  call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = ++this.#nextId;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#send({ ferry: "call", id, method, args });
    });
  }

  note(method: string, ...args: unknown[]): void {
    if (!this.#closed) this.#send({ ferry: "note", method, args });
  }

  /** The other end is gone: calls waiting and later fail with `error`. */
  close(error: Error): void {
    this.#closed ??= error;
    for (const { reject } of this.#waiting.values()) reject(error);
    this.#waiting.clear();
  }

  #send(message: Message): void {
    try {
      this.#channel.send(message);
    } catch (cause) {
      this.close(new ServerError(`the other process is gone: ${(cause as Error).message}`, { code: "INTERNAL", cause }));
    }
  }

  #receive(raw: unknown): void {
    if (typeof raw !== "object" || raw === null || !("ferry" in raw)) return;
    const message = raw as Message;
    if (message.ferry === "reply") {
      const waiting = this.#waiting.get(message.id);
      if (!waiting) return;
      this.#waiting.delete(message.id);
      if (message.error) waiting.reject(new ServerError(message.error.message, { code: message.error.code as ServerErrorCode }));
      else waiting.resolve(message.value);
      return;
    }
    const handler = this.#handlers.get(message.method);
    if (message.ferry === "note") {
      void Promise.resolve()
        .then(() => handler?.(...(message.args as never[])))
        .catch(() => undefined);
      return;
    }
    const id = message.id;
    Promise.resolve()
      .then(() => {
        if (!handler) throw new ServerError(`no such call: ${message.method}`, { code: "INTERNAL" });
        return handler(...(message.args as never[]));
      })
      .then(
        (value) => this.#send({ ferry: "reply", id, value }),
        (error: unknown) => {
          const code = error instanceof ServerError ? error.code : "INTERNAL";
          this.#send({ ferry: "reply", id, error: { code, message: (error as Error).message } });
        },
      );
  }
}

/** Two connected channels in one process, each message through JSON as IPC would carry it (tests). */
export function channelPair(): [Channel, Channel] {
  const listeners: [((message: unknown) => void)[], ((message: unknown) => void)[]] = [[], []];
  const end = (mine: 0 | 1): Channel => ({
    send: (message) => {
      const copy = JSON.parse(JSON.stringify(message)) as unknown;
      setImmediate(() => {
        for (const listener of listeners[1 - mine]!) listener(copy);
      });
    },
    onMessage: (listener) => void listeners[mine].push(listener),
  });
  return [end(0), end(1)];
}
