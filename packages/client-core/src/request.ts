import type { ClientMessage, ServerMessage } from "@ferry/protocol";
import { ClientError } from "./errors.js";
import type { SendLock } from "./send-lock.js";

/** What a request does with the server's messages for its id (ERROR aside: that refuses it). */
export interface RequestHandler<T> {
  /**
   * "more" to wait for the next message, the request's value, or its failure (the connection goes
   * on). Throw ClientError for a message that breaks the protocol: that ends the connection.
   */
  onMessage(message: ServerMessage): { kind: "more" } | { kind: "done"; value: T } | { kind: "failed"; error: ClientError };
  /** DATA frames of a streaming reply (they follow a message in STREAM_BEGINS, until its end). */
  onData?(payload: Buffer): void;
}

/** The connection underneath, as a request sees it. */
export interface RequestWire {
  readonly lock: SendLock;
  readonly alive: boolean;
  send(message: ClientMessage): void;
  writeFrame(frame: [Buffer, Uint8Array], onWritten?: () => void): void;
  /** Forgets the request; an answer still to come (a stream's bytes included) is dropped. */
  forget(id: number): void;
  /** Ends the whole connection with `error`. */
  die(error: ClientError): void;
}

/** Where the request is in its turn on the wire. */
type SendState =
  /** Waiting for the send lock. */
  | { kind: "queued" }
  /** Holds the lock; nothing of it is on the wire yet. */
  | { kind: "holding"; release: () => void }
  /** Holds the lock and its first frame is on the wire: the server knows this id. */
  | { kind: "sending"; release: () => void }
  /** Every frame sent; the lock passed on. */
  | { kind: "sent" }
  /** Given up: cancelled, or the connection hung up for it. */
  | { kind: "abandoned" };

/** What the server said so far. */
type AnswerState<T> = { kind: "pending" } | { kind: "answered"; value: T } | { kind: "refused"; error: ClientError };

/**
 * One request's lifecycle: its turn on the wire (send lock), its frames, its answer, and how it
 * is given up. The Wire routes the server's messages for `id` here; the transfer functions drive
 * the sending side. One object, one discriminated state per side, instead of loose flags.
 */
export class Request<T> {
  readonly id: number;
  /** The server's answer: the handler's value, or the ClientError it was refused (or lost) with. */
  readonly answer: Promise<T>;
  readonly #wire: RequestWire;
  readonly #handler: RequestHandler<T>;
  #send: SendState = { kind: "queued" };
  #answer: AnswerState<T> = { kind: "pending" };
  #resolve!: (value: T) => void;
  #reject!: (error: ClientError) => void;

  constructor(wire: RequestWire, id: number, handler: RequestHandler<T>) {
    this.#wire = wire;
    this.id = id;
    this.#handler = handler;
    this.answer = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.answer.catch(() => undefined); // the caller awaits it when its sending is done
  }

  /** The server refused the request (or the connection was lost) before its answer. */
  get refusal(): ClientError | undefined {
    return this.#answer.kind === "refused" ? this.#answer.error : undefined;
  }

  /** The server has answered or refused: sending more is pointless. */
  get settled(): boolean {
    return this.#answer.kind !== "pending";
  }

  /** Waits for this request's turn on the wire. */
  async turn(): Promise<void> {
    if (this.#send.kind !== "queued") throw new ClientError(`request ${this.id} already had its turn`, { code: "BAD_STATE" });
    const release = await this.#wire.lock.acquire();
    if (this.#send.kind !== "queued") return release(); // abandoned while waiting
    this.#send = { kind: "holding", release };
  }

  /** Sends one of the request's control messages (its turn must be held). */
  send(message: ClientMessage): void {
    this.#started();
    this.#wire.send(message);
  }

  /** Sends one of the request's DATA frames; `onWritten` once the payload is handed to the kernel. */
  sendFrame(frame: [Buffer, Uint8Array], onWritten?: () => void): void {
    this.#started();
    this.#wire.writeFrame(frame, onWritten);
  }

  /** Every frame is sent: the turn passes to the next request, and the answer is awaited. */
  doneSending(): void {
    const send = this.#send;
    if (send.kind !== "holding" && send.kind !== "sending") return;
    this.#send = { kind: "sent" };
    send.release();
  }

  /**
   * Gives the request up. Mid-send, the server is told with CANCEL (unless `hangUp`: the whole
   * connection is ended instead, which keeps a resumable upload's partial on the server); its
   * turn is released and its answer no longer awaited. Safe to call in any state.
   */
  abandon(options: { hangUp?: ClientError } = {}): void {
    const send = this.#send;
    this.#send = { kind: "abandoned" };
    if (send.kind === "sending") {
      if (options.hangUp) this.#wire.die(options.hangUp);
      else if (this.#wire.alive) {
        try {
          this.#wire.send({ type: "cancel", id: this.id });
        } catch {
          // the connection is gone; nothing to cancel
        }
      }
    }
    if (send.kind === "holding" || send.kind === "sending") send.release();
    if (send.kind !== "abandoned") this.#wire.forget(this.id);
  }

  // ---- called by the Wire ----

  /** A message for this id; true when the request is over. */
  deliver(message: ServerMessage): boolean {
    if (message.type === "error") {
      this.refuse(new ClientError(message.message, { code: message.code }));
      return true;
    }
    const reply = this.#handler.onMessage(message);
    if (reply.kind === "more") return false;
    if (reply.kind === "failed") {
      this.refuse(reply.error);
      return true;
    }
    this.#answer = { kind: "answered", value: reply.value };
    this.#resolve(reply.value);
    return true;
  }

  /** DATA of this request's streaming reply. */
  deliverData(payload: Buffer): void {
    if (!this.#handler.onData) throw new ClientError("server sent DATA for a request that streams nothing", { code: "PROTOCOL_ERROR" });
    this.#handler.onData(payload);
  }

  /** Refused by the server, or failed with the connection. */
  refuse(error: ClientError): void {
    if (this.#answer.kind !== "pending") return;
    this.#answer = { kind: "refused", error };
    this.#reject(error);
  }

  #started(): void {
    if (this.#send.kind === "holding") this.#send = { kind: "sending", release: this.#send.release };
    else if (this.#send.kind !== "sending") throw new ClientError(`request ${this.id} sent outside its turn`, { code: "BAD_STATE" });
  }
}
