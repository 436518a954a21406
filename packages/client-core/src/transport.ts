import net, { type Socket } from "node:net";
import tls from "node:tls";
import { formatFingerprint, parseFingerprint, type ClientConfig } from "@ferry/protocol";
import { abortError, throwIfAborted } from "./abort.js";
import { ClientError, TlsTrustError, type ClientErrorCode } from "./errors.js";

/** A connected (and, with TLS, trusted) socket; `listen` says where its incoming bytes go. */
export interface Transport {
  readonly socket: Socket;
  /** True for TLS: its chunks are fresh buffers. Plain TCP reads into one reused buffer. */
  readonly secure: boolean;
  /**
   * Hands every received chunk to `onBytes` from now on (bytes that arrived before are replayed
   * first). A plain socket reuses the chunk's buffer once the call returns.
   */
  listen(onBytes: (chunk: Buffer) => void): void;
}

// 4 MiB lets several DATA frames queue before we wait for 'drain', so reading and hashing the
// next chunk overlaps with the kernel sending the last one.
const SOCKET_HIGH_WATER = 4 * 1024 * 1024;
// What OpenSSL says when the answer to a ClientHello is not TLS at all.
const PLAINTEXT_ANSWER = /WRONG_VERSION_NUMBER|wrong version number|packet length too long|unknown protocol|http request/i;
// Bytes one read may deliver on a plain TCP connection (libuv's own default is 64 KiB).
const READ_BUFFER = 256 * 1024;

/**
 * Opens TCP or TLS to the configured server. With TLS, trust is decided here, before a byte of ours
 * (the token!) is sent: a pinned fingerprint replaces the chain check, and an untrusted server
 * fails with TlsTrustError carrying its fingerprint for the caller to show. The handshake's
 * deadline and abort apply from the caller (see handshake.ts); this only connects.
 */
export function connectTransport(config: ClientConfig, signal: AbortSignal | undefined): Promise<Transport> {
  throwIfAborted(signal);
  // (Node accepts highWaterMark here; @types/node 20 does not list it, hence the variable.)
  const connectOptions: net.TcpNetConnectOpts & { highWaterMark: number } = {
    host: config.host,
    port: config.port,
    noDelay: true,
    highWaterMark: SOCKET_HIGH_WATER,
  };
  const secure = config.tls;
  const where = `${config.host}:${config.port}`;
  // Until someone listens, received bytes are kept (copied: the read buffer is reused).
  const early: Buffer[] = [];
  let deliver: (chunk: Buffer) => void = (chunk) => early.push(Buffer.from(chunk));
  // Plain TCP reads into one reused buffer (onread) instead of a fresh 64 KiB buffer per read
  // (docs/performance.md, "Downloads"). TLS sockets cannot take a read buffer: 'data' events.
  const socket = secure
    ? tls.connect({
        ...connectOptions,
        ca: secure.ca,
        servername: secure.servername ?? (net.isIP(config.host) ? undefined : config.host),
        rejectUnauthorized: false, // decided below, pinning included
        minVersion: "TLSv1.2",
      })
    : net.connect({
        ...connectOptions,
        onread: {
          buffer: Buffer.allocUnsafeSlow(READ_BUFFER),
          callback: (bytes: number, buffer: Uint8Array) => {
            deliver(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
            return true;
          },
        },
      });
  if (secure) socket.on("data", (chunk: Buffer) => deliver(chunk));
  const transport: Transport = {
    socket,
    secure: secure !== undefined,
    listen(onBytes) {
      deliver = onBytes;
      for (const chunk of early.splice(0)) onBytes(chunk);
    },
  };
  return new Promise<Transport>((resolve, reject) => {
    const fail = (error: ClientError): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onAbort = (): void => fail(abortError());
    const onError = (cause: NodeJS.ErrnoException): void => {
      if (secure && PLAINTEXT_ANSWER.test(`${cause.code ?? ""} ${cause.message}`)) {
        // A plain-TCP server (Ferry's says so in plaintext) answered our TLS handshake.
        return fail(new ClientError(`${where} does not speak TLS (it answered in plaintext): connect without --tls`, { code: "CONNECT_FAILED", cause }));
      }
      const code: ClientErrorCode = socket.connecting || cause.code === "ECONNREFUSED" ? "CONNECT_FAILED" : "CONNECTION_CLOSED";
      fail(new ClientError(`cannot connect to ${where}: ${cause.message}`, { code, cause }));
    };
    const onClose = (): void => fail(new ClientError(`${where} closed the connection before it was established`, { code: "CONNECTION_CLOSED" }));
    function cleanup(): void {
      signal?.removeEventListener("abort", onAbort);
      socket.off("error", onError);
      socket.off("close", onClose);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.on("error", onError);
    socket.on("close", onClose);
    socket.once(secure ? "secureConnect" : "connect", () => {
      if (socket instanceof tls.TLSSocket) {
        const refusal = trustProblem(socket, where, secure?.fingerprint);
        if (refusal) return fail(refusal);
      }
      cleanup();
      resolve(transport);
    });
  });
}

/** Null when the TLS peer is who we expect; otherwise the error saying why not (and its fingerprint). */
function trustProblem(socket: tls.TLSSocket, where: string, pinned: string | undefined): ClientError | null {
  const certificate = socket.getPeerCertificate();
  const fingerprint = certificate.fingerprint256 ? formatFingerprint(certificate.fingerprint256) : "(no certificate)";
  if (pinned !== undefined) {
    if (fingerprint === parseFingerprint(pinned)) return null;
    return new TlsTrustError(
      `the certificate of ${where} has fingerprint ${fingerprint}, not the expected ${parseFingerprint(pinned)}: ` +
        "someone may be intercepting the connection, or the server's certificate was replaced",
      { code: "TLS_FINGERPRINT_MISMATCH", fingerprint, reason: "fingerprint differs" },
    );
  }
  if (socket.authorized) return null;
  const reason = String(socket.authorizationError ?? "unverified");
  return new TlsTrustError(`cannot verify the certificate of ${where} (${reason}); its fingerprint is ${fingerprint}`, {
    code: "TLS_UNTRUSTED",
    fingerprint,
    reason,
  });
}
