import type { Socket } from "node:net";
import { FrameWriter } from "@ferry/node-io";
import {
  CAPABILITIES,
  STREAM_BEGINS,
  encodeControl,
  pathProblem,
  quoteName,
  folderMarker,
  type ClientConfig,
  type ClientMessage,
  type Frame,
  type FrameDecoder,
  type ServerMessage,
  type DigestAlgorithm,
} from "@ferry/protocol";
import { abortError } from "./abort.js";
import { ClientError } from "./errors.js";
import { handshake, type ServerInfo } from "./handshake.js";
import { Request, type RequestHandler, type RequestWire } from "./request.js";
import { SendLock } from "./send-lock.js";
import { RatePacer } from "./rate-pacer.js";

export type { ServerInfo } from "./handshake.js";

/**
 * Stands in for a request given up before its answer: the answer is recognised and dropped, and a
 * streaming reply's bytes are drained until the message that ends it.
 */
const SINK = { deliver: (message: ServerMessage) => !STREAM_BEGINS.has(message.type), deliverData: () => undefined, refuse: () => undefined };
type Routed = Pick<Request<unknown>, "deliver" | "deliverData" | "refuse">;

/**
 * The connection under a FerryClient, once the handshake is done: framing, request ids, and routing
 * of every answer (and streamed DATA) to the Request that asked for it. Internal to client-core.
 */
export class Wire implements RequestWire {
  readonly config: ClientConfig;
  readonly server: ServerInfo;
  /** Requests take turns sending, so frames of two requests never interleave. */
  readonly lock = new SendLock();
  readonly #socket: Socket;
  readonly #frames: FrameWriter;
  readonly #requests = new Map<number, Routed>();
  /** The request whose streaming reply's DATA is arriving now (the server sends one at a time). */
  #streaming: { id: number; to: Routed } | undefined;
  #nextId = 1;
  #fatal: ClientError | undefined;
  #closing = false;
  /** --bwlimit, each way (absent: no limit). */
  readonly #sendPace: RatePacer | undefined;
  readonly #receivePace: RatePacer | undefined;
  /** Why reading is paused: a download's disk lagging, the receive rate, or both. */
  readonly #readPaused = new Set<"disk" | "rate">();

  private constructor(config: ClientConfig, socket: Socket, server: ServerInfo) {
    this.config = config;
    this.#socket = socket;
    this.#frames = new FrameWriter(socket);
    this.server = server;
    if (config.bandwidthLimit !== undefined) {
      this.#sendPace = new RatePacer(config.bandwidthLimit);
      this.#receivePace = new RatePacer(config.bandwidthLimit);
    }
  }

  /** Connects and handshakes (transport.ts, handshake.ts); resolves once WELCOME has arrived. */
  static async open(config: ClientConfig, signal: AbortSignal | undefined): Promise<Wire> {
    const { transport, server, decoder, early } = await handshake(config, signal);
    const wire = new Wire(config, transport.socket, server);
    transport.socket.on("error", () => undefined); // reported by the close that follows
    transport.socket.on("close", () => wire.#onClose());
    for (const frame of early) wire.#onFrame(frame);
    transport.listen((chunk) => wire.#onBytes(decoder, chunk));
    return wire;
  }

  /** The connection's transfer digest: what WELCOME named, SHA-256 when it named none. */
  get digest(): DigestAlgorithm {
    return this.server.digest ?? "sha256";
  }

  /** True when the server announced `capability` in WELCOME. */
  supports(capability: string): boolean {
    return this.server.capabilities.includes(capability);
  }

  /** Throws NOT_SUPPORTED unless the server announced `capability`. */
  require(capability: string, what: string): void {
    if (!this.supports(capability)) {
      throw new ClientError(`the server does not support ${what} (no "${capability}" capability)`, { code: "NOT_SUPPORTED" });
    }
  }

  /** Throws BAD_NAME for a name the protocol cannot carry, NOT_SUPPORTED for a folder path the server cannot take. */
  checkName(name: string): void {
    // "dir/" names a folder itself, for servers that keep empty folders.
    const folder = folderMarker(name);
    if (folder !== null) this.require(CAPABILITIES.EMPTY_FOLDERS, "empty folders");
    const problem = pathProblem(folder ?? name);
    if (problem) throw new ClientError(`${quoteName(name)}: ${problem}`, { code: "BAD_NAME" });
    if (name.includes("/")) this.require(CAPABILITIES.FOLDERS, "folders");
  }

  /** Largest DATA payload to send. */
  frameSize(): number {
    return Math.min(this.config.chunkSize, this.server.limits.maxDataPayload);
  }

  /** A new request with the next id, routed to `handler` from now on. Drive it with turn/send/doneSending. */
  request<T>(handler: RequestHandler<T>): Request<T> {
    this.assertOpen();
    const request = new Request(this, this.#nextId++, handler);
    this.#requests.set(request.id, request as Request<unknown>);
    return request;
  }

  /** Forgets a request; its late answers are then ignored (a streaming reply's bytes drained). */
  forget(id: number): void {
    if (this.#streaming?.id === id) this.#streaming.to = SINK;
    if (this.#requests.has(id)) this.#requests.set(id, SINK);
    // Kept as SINK until the server's answer for it arrives, so that answer is recognised and dropped.
  }

  get alive(): boolean {
    return !this.#fatal && !this.#closing && !this.#socket.destroyed && !this.#socket.writableEnded;
  }

  assertOpen(): void {
    if (this.#fatal) throw this.#fatal;
    if (this.#closing) throw new ClientError("client was closed", { code: "BAD_STATE" });
    if (this.#socket.destroyed || this.#socket.writableEnded) {
      throw new ClientError("the connection is closed", { code: "CONNECTION_CLOSED" });
    }
  }

  send(message: ClientMessage): void {
    this.writeFrame(encodeControl(message));
  }

  /** `onWritten`: called once the payload is handed to the kernel (or the write failed), so its buffer may be reused. */
  writeFrame(frame: [Buffer, Uint8Array], onWritten?: () => void): void {
    this.assertOpen();
    this.#frames.write(frame, onWritten);
    this.#sendPace?.spend(frame[0].length + frame[1].length);
  }

  /**
   * True when written frames exceed the socket's queue, or the bandwidth limit wants a pause; await
   * drained() before writing more. Every upload loop already waits here, so --bwlimit paces them all.
   */
  get needsDrain(): boolean {
    return this.#socket.writableNeedDrain || (this.#sendPace?.waitMs() ?? 0) > 0;
  }

  async drained(signal: AbortSignal | undefined): Promise<void> {
    if (this.#socket.writableNeedDrain) await this.#socketDrained(signal);
    const wait = this.#sendPace?.waitMs() ?? 0;
    if (wait > 0) await sleep(wait, signal);
  }

  #socketDrained(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        this.#socket.off("drain", onDrain);
        this.#socket.off("close", onClose);
        signal?.removeEventListener("abort", onAbort);
      };
      const onDrain = (): void => {
        cleanup();
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        reject(this.#fatal ?? new ClientError("connection closed", { code: "CONNECTION_CLOSED" }));
      };
      const onAbort = (): void => {
        cleanup();
        reject(abortError());
      };
      this.#socket.on("drain", onDrain);
      this.#socket.on("close", onClose);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Stops reading while a download's disk lags (backpressure), and starts again. */
  pauseReading(): void {
    this.#readPaused.add("disk");
    this.#socket.pause();
  }

  resumeReading(): void {
    this.#readPaused.delete("disk");
    if (this.#readPaused.size === 0) this.#socket.resume();
  }

  /** --bwlimit on what arrives: after a chunk that ran ahead of the rate, reading rests until it is paid for. */
  #paceReading(bytes: number): void {
    const wait = this.#receivePace?.spend(bytes) ?? 0;
    if (wait <= 0 || this.#readPaused.has("rate")) return;
    this.#readPaused.add("rate");
    this.#socket.pause();
    // Not unref'd: a socket whose reading is stopped does not keep the process alive, this timer must.
    setTimeout(() => {
      this.#readPaused.delete("rate");
      if (this.#readPaused.size === 0 && !this.#socket.destroyed) this.#socket.resume();
    }, wait);
  }

  /** Ends the connection politely; requests still waiting fail CONNECTION_CLOSED. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.#socket.once("close", () => resolve());
      this.#socket.end();
      setTimeout(() => this.#socket.destroy(), 2_000).unref();
    });
  }

  die(error: ClientError): void {
    this.#fatal ??= error;
    this.#socket.destroy();
  }

  #onBytes(decoder: FrameDecoder, chunk: Buffer): void {
    this.#paceReading(chunk.length);
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch (cause) {
      return this.die(new ClientError(`server broke the protocol: ${(cause as Error).message}`, { code: "PROTOCOL_ERROR", cause }));
    }
    for (const frame of frames) this.#onFrame(frame);
  }

  #onFrame(frame: Frame): void {
    try {
      if (frame.kind === "data") {
        if (!this.#streaming) throw new ClientError("server sent DATA outside a streaming reply", { code: "PROTOCOL_ERROR" });
        return this.#streaming.to.deliverData(frame.payload);
      }
      this.#onMessage(frame.message as ServerMessage);
    } catch (error) {
      this.die(error instanceof ClientError ? error : new ClientError(String(error), { code: "PROTOCOL_ERROR", cause: error }));
    }
  }

  #onMessage(message: ServerMessage): void {
    if (!("id" in message) || message.id === undefined) {
      if (message.type === "error") return this.die(new ClientError(message.message, { code: message.code }));
      throw new ClientError(`unexpected ${message.type} from the server`, { code: "PROTOCOL_ERROR" });
    }
    const { id } = message;
    const to = this.#requests.get(id);
    if (!to) return; // an answer to nothing we asked (or long forgotten): ignored
    if (this.#streaming?.id === id) this.#streaming = undefined; // the stream's next message ends it
    if (STREAM_BEGINS.has(message.type)) {
      if (this.#streaming) throw new ClientError("server began a streaming reply inside another", { code: "PROTOCOL_ERROR" });
      this.#streaming = { id, to };
    }
    if (to.deliver(message)) {
      this.#requests.delete(id);
      if (this.#streaming?.id === id) this.#streaming = undefined;
    }
  }

  #onClose(): void {
    const error = this.#fatal ?? new ClientError("the server closed the connection", { code: "CONNECTION_CLOSED" });
    this.#fatal = error;
    const waiting = [...this.#requests.values()];
    this.#requests.clear();
    this.#streaming = undefined;
    for (const request of waiting) request.refuse(error);
  }
}

/** Resolves after `ms`, or rejects ABORTED when `signal` fires first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
