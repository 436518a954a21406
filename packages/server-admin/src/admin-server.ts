import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { isLoopbackHost } from "@ferry/protocol";
import { ServerError, type FerryServer } from "@ferry/server-core";
import type { MetricsSource } from "./cluster-metrics.js";

/** What the admin port reports on: a FerryServer, or the primary of its workers. */
export type AdminTarget = Pick<FerryServer, "listening" | "ready">;

export interface AdminOptions {
  host: string;
  port: number;
  /** Required beyond loopback, as on the data port: PEM certificate chain and key. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  /**
   * Required beyond loopback: whether a request's bearer token (`Authorization: Bearer …`) is a
   * configured user's (FerryServer.authorizes, with its failure delay and blocking).
   */
  authorize?: (token: string | undefined, ip: string) => Promise<boolean>;
  /** /readyz answers "not ready" when the storage probe takes longer. Default 900 ms. */
  readyTimeoutMs?: number;
}

export interface AdminServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The admin listener: GET /metrics (Prometheus text), /healthz (the process serves: 200 while the
 * data port listens) and /readyz (200 when the storage takes files now — local: a probe file made
 * and removed; cluster: the database and the bucket answer — else 503). Everything else is 404.
 * Answers carry counts only: no file name, token or user data but the configured user names that
 * label quotas. Off by default; bound to loopback unless told otherwise, and then only with TLS and
 * a user's token, the data port's rules (docs/operations.md).
 */
export async function startAdmin(server: AdminTarget, metrics: MetricsSource, options: AdminOptions): Promise<AdminServer> {
  if (!isLoopbackHost(options.host) && (!options.tls || !options.authorize)) {
    throw new ServerError(
      `the admin port on ${options.host} is reachable beyond this machine: it needs TLS (tls cert and key) and users (tokens), as the data port does; or bind it to 127.0.0.1`,
      { code: "INVALID_CONFIG" },
    );
  }
  const readyTimeoutMs = options.readyTimeoutMs ?? 900;
  const handler = async (request: http.IncomingMessage, response: http.ServerResponse): Promise<void> => {
    const answer = (status: number, body: string, type = "text/plain; charset=utf-8"): void => {
      response.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      response.end(body);
    };
    if (request.method !== "GET" && request.method !== "HEAD") return answer(405, "only GET\n");
    if (options.authorize) {
      const header = request.headers.authorization;
      const token = header?.startsWith("Bearer ") ? header.slice(7) : undefined;
      if (!(await options.authorize(token, request.socket.remoteAddress ?? "?"))) return answer(401, "a user's token is needed: Authorization: Bearer <token>\n");
    }
    const path = (request.url ?? "/").split("?")[0];
    switch (path) {
      case "/metrics":
        return answer(200, await metrics.render(), metrics.contentType);
      case "/healthz":
        return server.listening ? answer(200, "ok\n") : answer(503, "not listening\n");
      case "/readyz": {
        const verdict = await Promise.race([
          server.ready().then(
            () => "ready",
            () => "storage unavailable",
          ),
          new Promise<string>((resolve) => setTimeout(() => resolve("storage too slow to answer"), readyTimeoutMs).unref()),
        ]);
        return verdict === "ready" ? answer(200, "ready\n") : answer(503, `not ready: ${verdict}\n`);
      }
      default:
        return answer(404, "not found: /metrics, /healthz and /readyz are served here\n");
    }
  };
  const listener = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    handler(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end("internal error\n");
    });
  };
  const http1 = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key, minVersion: "TLSv1.2" }, listener) : http.createServer(listener);
  await new Promise<void>((resolve, reject) => {
    http1.once("error", (cause) => reject(new ServerError(`cannot listen on the admin port ${options.host}:${options.port}: ${cause.message}`, { code: "LISTEN_FAILED", cause })));
    http1.listen({ host: options.host, port: options.port }, () => resolve());
  });
  const address = http1.address() as AddressInfo;
  return {
    host: address.address,
    port: address.port,
    close: () =>
      new Promise((resolve) => {
        http1.close(() => resolve());
        http1.closeAllConnections();
      }),
  };
}
