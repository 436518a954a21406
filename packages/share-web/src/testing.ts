// Test helpers for share-web's own tests: a FerryServer with its HTTP listener, and links made the
// way SHARE makes them (server-core's records), without a client.
import { hashSharePassword, newShareSecret, shareKey, type FerryServer, type ShareRecord } from "@ferry/server-core";
import { startTestServer, type TestServer } from "@ferry/server-core/testing";
import { startShareWeb, type ShareWeb } from "./share-web.js";

export interface Sharing extends TestServer {
  http: ShareWeb;
}

export async function startSharing(
  config: Parameters<typeof startTestServer>[0] = {},
  web: { requestsPerMinute?: number; requestsPerLinkPerMinute?: number } = {},
  serverOptions: Parameters<typeof startTestServer>[1] = {},
): Promise<Sharing> {
  const test = await startTestServer(config, serverOptions);
  const http = await startShareWeb(test.server, { host: "127.0.0.1", port: 0, requestsPerMinute: web.requestsPerMinute ?? 100_000, requestsPerLinkPerMinute: web.requestsPerLinkPerMinute ?? 100_000 });
  return {
    ...test,
    http,
    async cleanup(): Promise<void> {
      await http.close();
      await test.cleanup();
    },
  };
}

/** Makes a link on `server` (as SHARE would) and returns its URL path "/s/<secret>". */
export async function makeLink(
  server: FerryServer,
  link: Partial<Omit<ShareRecord, "password">> & { password?: string; expiresIn?: number },
): Promise<{ path: string; secret: string; key: string }> {
  const secret = newShareSecret();
  const now = Date.now();
  const record: ShareRecord = {
    key: shareKey(secret),
    owner: null,
    kind: "download",
    paths: [""],
    createdAt: now,
    expiresAt: now + (link.expiresIn ?? 3600) * 1000,
    maxDownloads: null,
    downloads: 0,
    maxBytes: null,
    maxFiles: null,
    uploadedBytes: 0,
    uploadedFiles: 0,
    ...link,
    password: link.password === undefined ? null : await hashSharePassword(link.password),
  };
  await server.shares!.create(record);
  return { path: `/s/${secret}`, secret, key: record.key };
}

