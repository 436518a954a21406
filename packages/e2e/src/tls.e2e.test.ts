import { writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, afterEach, describe, expect, it } from "vitest";
import { FerryClient, TlsTrustError } from "@ferry/client-core";
import type { ClientConfigInput, ServerConfigInput } from "@ferry/protocol";
import { FerryServer, hashToken, newToken, ServerError } from "@ferry/server-core";
import { Cleanups, clientFailure } from "./testing/client-helpers.js";
import { listDir, startTestServer, tempDir, TEST_CERT, TEST_KEY, WirePeer } from "@ferry/server-core/testing";

// Computed once by hand with `openssl x509 -noout -fingerprint -sha256` on TEST_CERT, then base64.
const TEST_FINGERPRINT = "SHA256:p7XpDMwvjHBklau9JsBNNtsg02xgE1kFcsYA9CiAj8Y";

let files: Awaited<ReturnType<typeof tempDir>>;
let tls: { cert: string; key: string };
beforeAll(async () => {
  files = await tempDir("ferry-tls-");
  tls = { cert: path.join(files.dir, "cert.pem"), key: path.join(files.dir, "key.pem") };
  await writeFile(tls.cert, TEST_CERT);
  await writeFile(tls.key, TEST_KEY, { mode: 0o600 });
});
afterAll(() => files.cleanup());

const cleanups = new Cleanups();
afterEach(() => cleanups.runAll());

async function serve(config: ServerConfigInput = {}) {
  const server = await startTestServer({ tls, ...config });
  cleanups.add(() => server.cleanup());
  return server;
}

async function connect(port: number, config: Omit<ClientConfigInput, "port">): Promise<FerryClient> {
  const client = await FerryClient.connect({ port, ...config });
  cleanups.add(() => client.close());
  return client;
}

const failure = clientFailure;

describe("TLS and plain TCP mixed up", () => {
  it("a TLS client on a plain server: told in plaintext, fails fast naming --tls, and nothing is stored", async () => {
    const plain = await startTestServer(); // open, raw uploads on
    cleanups.add(() => plain.cleanup());
    const error = await failure(FerryClient.connect({ port: plain.port, tls: { fingerprint: TEST_FINGERPRINT } }));
    expect(error.code).toBe("CONNECT_FAILED");
    expect(error.message).toContain("without --tls");
    await plain.closedConnections(1);
    expect(await listDir(plain.dir)).toEqual([]); // the ClientHello was not stored as output0.txt
    expect(plain.events["connection-error"].map((e) => e.code)).toEqual(["TLS_ON_PLAIN_PORT"]);
  });

  it("a raw TLS record on a plain server gets the plaintext hint and is never a raw upload", async () => {
    const plain = await startTestServer();
    cleanups.add(() => plain.cleanup());
    const socket = net.connect({ host: "127.0.0.1", port: plain.port });
    let heard = "";
    socket.on("data", (chunk: Buffer) => (heard += chunk.toString("latin1")));
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]));
    await new Promise((resolve) => socket.on("close", resolve));
    expect(heard).toContain("not TLS");
    expect(await listDir(plain.dir)).toEqual([]);
  });

  it("a plain client on a TLS server fails fast, naming --tls", async () => {
    const server = await serve();
    const error = await failure(FerryClient.connect({ port: server.port }));
    expect(error.code).toBe("CONNECTION_CLOSED");
    expect(error.message).toContain("--tls");
  });
});

describe("TLS", () => {
  it("announces the certificate's fingerprint and moves a file verified against a CA file", async () => {
    const server = await serve();
    expect(server.server.config.tls).toBeDefined();
    const listening = await new Promise<string | null>((resolve) => {
      const probe = new FerryServer({ host: "127.0.0.1", port: 0, dir: path.join(files.dir, "probe"), tls });
      probe.once("listening", (e) => resolve(e.tlsFingerprint));
      void probe.start().then(() => probe.stop());
    });
    expect(listening).toBe(TEST_FINGERPRINT);
    const client = await connect(server.port, { tls: { ca: TEST_CERT } });
    const body = Buffer.from("over TLS");
    const stored = await client.uploadStream([body], { name: "secret.txt", size: body.length });
    expect(stored.name).toBe("secret.txt");
    expect((await client.list()).map((e) => e.name)).toEqual(["secret.txt"]);
  });

  it("refuses an unverifiable server before sending HELLO, and reports its fingerprint", async () => {
    const server = await serve({ users: [{ name: "alice", tokenSha256: hashToken("t".repeat(43)), permissions: ["read"] }] });
    const error = await failure(connect(server.port, { tls: {}, token: "t".repeat(43) }));
    expect(error.code).toBe("TLS_UNTRUSTED");
    expect(error).toBeInstanceOf(TlsTrustError);
    expect((error as TlsTrustError).fingerprint).toBe(TEST_FINGERPRINT);
    await server.closedConnections(1);
    expect(server.events.authenticated).toEqual([]);
  });

  it("trusts a pinned fingerprint in any accepted spelling, and refuses another", async () => {
    const server = await serve();
    const pinned = await connect(server.port, { tls: { fingerprint: TEST_FINGERPRINT } });
    expect(await pinned.list()).toEqual([]);
    const hex = Buffer.from(TEST_FINGERPRINT.slice(7), "base64").toString("hex");
    expect(await (await connect(server.port, { tls: { fingerprint: hex } })).list()).toEqual([]);
    const other = `SHA256:${Buffer.alloc(32, 1).toString("base64").replace(/=+$/, "")}`;
    const error = await failure(connect(server.port, { tls: { fingerprint: other } }));
    expect(error.code).toBe("TLS_FINGERPRINT_MISMATCH");
    expect(error.message).toContain(TEST_FINGERPRINT);
  });

  it("refuses a certificate for another name", async () => {
    const server = await serve();
    const error = await failure(connect(server.port, { tls: { ca: TEST_CERT, servername: "files.example.com" } }));
    expect(error.code).toBe("TLS_UNTRUSTED");
  });

  it("answers a plain-TCP peer with a TLS alert, not a file, and goes on serving", async () => {
    const server = await serve();
    const plain = await failure(connect(server.port, {}));
    expect(["CONNECTION_CLOSED", "PROTOCOL_ERROR"]).toContain(plain.code);
    const { peer } = await WirePeer.connect(server.port).then((p) => ({ peer: p }));
    peer.write(Buffer.from("raw lab bytes\n"));
    await peer.closed;
    const client = await connect(server.port, { tls: { ca: TEST_CERT } });
    expect(await client.list()).toEqual([]);
  });

  it("carries the token inside TLS and sends BUSY over TLS", async () => {
    const token = newToken();
    // slotGraceMs: an hour, so idle alice keeps her slot however slow this machine is.
    const server = await serve({ maxClients: 1, slotGraceMs: 3_600_000, users: [{ name: "alice", tokenSha256: hashToken(token), permissions: ["read"] }] });
    const alice = await connect(server.port, { tls: { ca: TEST_CERT }, token });
    expect(alice.server.user?.name).toBe("alice");
    expect((await failure(connect(server.port, { tls: { ca: TEST_CERT }, token }))).code).toBe("BUSY");
  });

  it("refuses to start with a missing or mismatched key", async () => {
    const broken = new FerryServer({ host: "127.0.0.1", port: 0, dir: path.join(files.dir, "x"), tls: { cert: tls.cert, key: tls.cert } });
    const error = await broken.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).code).toBe("INVALID_CONFIG");
  });
});
