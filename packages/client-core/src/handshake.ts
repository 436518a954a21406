import { availableDigests } from "@ferry/node-io";
import { FrameDecoder, PROTOCOL_VERSION, encodeControl, encodePreamble, type ClientConfig, type DigestAlgorithm, type Frame, type WelcomeMessage } from "@ferry/protocol";
import { abortError } from "./abort.js";
import { ClientError } from "./errors.js";
import { connectTransport, type Transport } from "./transport.js";

/** What the server announced in WELCOME. */
export type ServerInfo = Omit<WelcomeMessage, "type">;

/** A transport past the handshake: the server's WELCOME, the decoder, and frames that came with it. */
export interface Handshaken {
  transport: Transport;
  server: ServerInfo;
  decoder: FrameDecoder;
  /** Frames decoded after WELCOME in the same read (normally none). */
  early: Frame[];
}

/**
 * Connects (connectTransport) and speaks the handshake: preamble and HELLO out, WELCOME back.
 * `connectTimeoutMs` covers both; an ERROR instead of WELCOME (BUSY, AUTH_FAILED…) fails with its
 * code, and anything else with PROTOCOL_ERROR.
 */
export async function handshake(config: ClientConfig, signal: AbortSignal | undefined): Promise<Handshaken> {
  try {
    return await connectAndGreet(config, signal);
  } catch (error) {
    // A server older than HELLO.digests refuses the unknown key as BAD_MESSAGE (protocol.md §10):
    // connect again without it, and the connection uses SHA-256.
    if (offeredDigests(config.digest) && error instanceof ClientError && error.code === "BAD_MESSAGE") {
      return connectAndGreet({ ...config, digest: "sha256" }, signal);
    }
    throw error;
  }
}

async function connectAndGreet(config: ClientConfig, signal: AbortSignal | undefined): Promise<Handshaken> {
  const where = `${config.host}:${config.port}`;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClientError(`no answer from ${where} within ${config.connectTimeoutMs} ms`, { code: "TIMEOUT" })), config.connectTimeoutMs);
  });
  const connecting = connectTransport(config, signal);
  try {
    const transport = await Promise.race([connecting, deadline]);
    return await Promise.race([greet(transport, config, signal), deadline]).catch((error: unknown) => {
      transport.socket.destroy();
      throw error;
    });
  } catch (error) {
    // The deadline won the race for the connect: close what may still arrive.
    void connecting.then((transport) => transport.socket.destroy(), () => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Sends preamble + HELLO in one write, then resolves with the first frame's WELCOME. */
function greet(transport: Transport, config: ClientConfig, signal: AbortSignal | undefined): Promise<Handshaken> {
  const { socket } = transport;
  const where = `${config.host}:${config.port}`;
  const decoder = new FrameDecoder({ streamData: true, reusesInput: !transport.secure });
  const digests = offeredDigests(config.digest);
  return new Promise<Handshaken>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      socket.off("close", onClose);
      outcome();
    };
    const fail = (error: ClientError): void => settle(() => reject(error));
    const onAbort = (): void => fail(abortError());
    // A TLS server hangs up at once on a plain preamble: say so, since nothing else will.
    const hint = transport.secure ? "" : " (if it serves TLS, connect with --tls)";
    const onClose = (): void => fail(new ClientError(`${where} closed the connection during the handshake${hint}`, { code: "CONNECTION_CLOSED" }));
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.on("close", onClose);
    socket.on("error", () => undefined); // reported as the close that follows
    transport.listen((chunk) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (cause) {
        return fail(new ClientError(`server broke the protocol: ${(cause as Error).message}`, { code: "PROTOCOL_ERROR", cause }));
      }
      const [first, ...early] = frames;
      if (!first) return;
      if (first.kind === "control" && first.message.type === "welcome") {
        const { type: _type, ...server } = first.message;
        if (server.digest !== undefined && !(digests ?? []).includes(server.digest)) {
          return fail(new ClientError(`server chose the ${server.digest} digest, which was not offered`, { code: "PROTOCOL_ERROR" }));
        }
        // Frames after WELCOME in a reused read buffer must be consumed now: copy their payloads.
        const kept = early.map((f): Frame => (f.kind === "data" ? { kind: "data", payload: Buffer.from(f.payload) } : f));
        return settle(() => resolve({ transport, server, decoder, early: kept }));
      }
      if (first.kind === "control" && first.message.type === "error") return fail(new ClientError(first.message.message, { code: first.message.code }));
      fail(new ClientError("server sent something other than WELCOME first", { code: "PROTOCOL_ERROR" }));
    });
    const token = config.token === undefined ? {} : { token: config.token };
    const [header, payload] = encodeControl({ type: "hello", version: PROTOCOL_VERSION, agent: config.agent, ...token, ...(digests ? { digests } : {}) });
    socket.cork();
    socket.write(encodePreamble());
    socket.write(header);
    socket.write(payload);
    socket.uncork();
  });
}

/**
 * What HELLO offers: nothing for SHA-256 (every server's default, and what a v1 server expects), or
 * the wanted digest then SHA-256 as the fallback, when this process can compute it.
 */
function offeredDigests(wanted: DigestAlgorithm): DigestAlgorithm[] | undefined {
  if (wanted === "sha256" || !availableDigests().includes(wanted)) return undefined;
  return [wanted, "sha256"];
}
