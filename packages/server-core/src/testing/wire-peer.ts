import net, { type Socket } from "node:net";
import {
  FrameDecoder,
  PROTOCOL_VERSION,
  encodeControl,
  encodeData,
  encodePreamble,
  type DigestAlgorithm,
  type Message,
} from "@ferry/protocol";

/**
 * A hand-driven protocol peer for tests: sends exactly the bytes a test wants (including wrong
 * ones) and reads the server's messages back.
 */
export class WirePeer {
  readonly socket: Socket;
  readonly #decoder = new FrameDecoder();
  readonly #inbox: Message[] = [];
  readonly #waiters: (() => void)[] = [];
  #ended = false;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      for (const frame of this.#decoder.push(chunk)) {
        if (frame.kind === "control") this.#inbox.push(frame.message);
      }
      this.#wake();
    });
    socket.on("error", () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on("close", () => {
        this.#ended = true;
        this.#wake();
        resolve();
      }),
    );
  }

  static async connect(port: number): Promise<WirePeer> {
    const socket = net.connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new WirePeer(socket);
  }

  /** Connects and completes the handshake; returns the WELCOME. */
  static async handshake(port: number, options: { token?: string; digests?: DigestAlgorithm[] } = {}): Promise<{ peer: WirePeer; welcome: Message }> {
    const peer = await WirePeer.connect(port);
    peer.write(encodePreamble());
    peer.send({ type: "hello", version: PROTOCOL_VERSION, agent: "wire-peer", ...options });
    return { peer, welcome: await peer.next() };
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  send(message: Message): void {
    for (const part of encodeControl(message)) this.socket.write(part);
  }

  data(payload: Uint8Array): void {
    for (const part of encodeData(payload)) this.socket.write(part);
  }

  /**
   * The next control message from the server; rejects if the connection closes first. No clock:
   * a server that never answers is caught by the test's hang detector, not by a guess at speed.
   */
  async next(): Promise<Message> {
    while (this.#inbox.length === 0) {
      if (this.#ended) throw new Error("connection closed with no further message");
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.#inbox.shift()!;
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}
