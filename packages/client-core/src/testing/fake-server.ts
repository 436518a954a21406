import net, { type AddressInfo, type Socket } from "node:net";
import { FrameDecoder, PREAMBLE_BYTES, encodeControl, type Frame, type Message } from "@ferry/protocol";

/** One connection as the fake server sees it: the frames received and a way to answer. */
export interface FakeConnection {
  socket: Socket;
  frames: Frame[];
  send(message: Message): void;
  /** Resolves with the next frame from the client. */
  nextFrame(): Promise<Frame>;
}

/**
 * A scripted server for client tests: it speaks just enough protocol to drive the client into
 * the situation under test, including ones a correct server never creates.
 */
export async function startFakeServer(script: (conn: FakeConnection) => Promise<void> | void) {
  const sockets = new Set<Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    const waiters: ((frame: Frame) => void)[] = [];
    let preamble = Buffer.alloc(0);
    let skipped = false;
    socket.on("data", (chunk: Buffer) => {
      if (!skipped) {
        preamble = Buffer.concat([preamble, chunk]);
        if (preamble.length < PREAMBLE_BYTES) return;
        skipped = true;
        chunk = preamble.subarray(PREAMBLE_BYTES);
      }
      for (const frame of decoder.push(chunk)) {
        const waiter = waiters.shift();
        if (waiter) waiter(frame);
        else frames.push(frame);
      }
    });
    const conn: FakeConnection = {
      socket,
      frames,
      send: (message) => {
        for (const part of encodeControl(message)) socket.write(part);
      },
      nextFrame: () => {
        const queued = frames.shift();
        return queued ? Promise.resolve(queued) : new Promise((resolve) => waiters.push(resolve));
      },
    };
    void Promise.resolve(script(conn)).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async close(): Promise<void> {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A standard WELCOME for the fake server to send. */
export function welcome(overrides: Partial<Extract<Message, { type: "welcome" }>> = {}): Message {
  return {
    type: "welcome",
    version: 1,
    agent: "fake",
    limits: { maxDataPayload: 1024 * 1024, maxFileSize: Number.MAX_SAFE_INTEGER },
    capabilities: ["upload"],
    ...overrides,
  };
}
