import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Socket } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import formbody from "@fastify/formbody";
import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { entryDigest, isLoopbackHost, type ListEntry } from "@ferry/protocol";
import { checkSharePassword, RateWatch, ServerError, type FerryServer } from "@ferry/server-core";
import { attachment, fileBody, planFileResponse } from "./file-response.js";
import { folderZip, type ZipEntry } from "./folder-zip.js";
import { statusFor } from "./http-status.js";
import { lookUpLink, parseCookies, reachesFile, reachesFolder, unlockCookieName, unlocked, unlockToken, type OpenLink } from "./link-access.js";
import { downloadPage, endedPage, passwordPage, uploadPage, type PageRow } from "./pages.js";
import { decodeUploadId, encodeUploadId, heldOffset, HttpRefusal, parseUploadMetadata, receivePatch, targetName, TUS_CHUNK, TUS_EXTENSIONS, TUS_VERSION } from "./tus-upload.js";
import { LinkRate } from "./link-rate.js";
import { UnlockFailures, type PasswordFailureLedger } from "./unlock-failures.js";
import { splitSharePath } from "./url-path.js";

export interface ShareWebOptions {
  /** Where to listen; port 0 picks a free one. */
  host: string;
  port: number;
  /** The URL links are made with when the server is reached through a proxy or a name ("https://files.example.org"). */
  publicUrl?: string;
  /** Requests per minute from one IP address (default 600). */
  requestsPerMinute?: number;
  /** Requests through one link per minute, from anyone (default 1,200); more get 429. */
  requestsPerLinkPerMinute?: number;
  /** Downloads and uploads in flight through one link at a time (default 16); more get 429. */
  transfersPerLink?: number;
  /**
   * Wrong share passwords per address and link (10 in 15 min, then 429); default: this listener's
   * own count. A worker of `ferry-server --workers N` passes the primary's.
   */
  passwordFailures?: PasswordFailureLedger;
  /** Where style.css, upload.js and tus.min.js are (default: assets/ beside this module; tus.min.js from tus-js-client if absent). */
  assetsDir?: string;
}

export interface ShareWeb {
  /** The listener's own URL ("https://127.0.0.1:8443"). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
  /** Takes the server's TLS certificate again (after reload()); HTTP listeners ignore it. */
  reloadCertificate(): Promise<void>;
}

/** The page's style and script beside this module (src/ or dist/); a bundle names its own copy (ShareWebOptions.assetsDir). */
const ASSETS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "assets");

// Pages run only our own script and style; downloads run nothing at all (sandbox), whatever they hold.
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const DOWNLOAD_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'";

/**
 * Starts the HTTP(S) listener for share links (docs/sharing.md) beside a running FerryServer and
 * turns sharing on in it. HTTPS whenever the server has TLS (the same certificate); the same
 * open/loopback rule as the data port: an open server (no users) serves links beyond loopback only
 * with allowAnonymous.
 */
export async function startShareWeb(server: FerryServer, options: ShareWebOptions): Promise<ShareWeb> {
  const config = server.config;
  if (!isLoopbackHost(options.host) && config.users.length === 0 && !config.allowAnonymous) {
    throw new ServerError(`refusing to serve share links on ${options.host} for a server without users; configure users or allow anonymous access`, { code: "INVALID_CONFIG" });
  }
  const https = config.tls ? { cert: await readFile(config.tls.cert), key: await readFile(config.tls.key), minVersion: "TLSv1.2" as const } : null;
  const assets = await loadAssets(options.assetsDir ?? ASSETS_DIR);
  const app = Fastify({
    ...(https ? { https } : {}),
    logger: false,
    // The idle rule of the TCP side; a whole request may take as long as it keeps the minimum rate (RateWatch).
    connectionTimeout: config.idleTimeoutMs,
    requestTimeout: 0,
    keepAliveTimeout: 5_000,
    bodyLimit: 16 * 1024,
    exposeHeadRoutes: false,
    forceCloseConnections: true,
    return503OnClosing: true,
    // A URL the router cannot decode (overlong UTF-8, a stray %) reaches nothing, like any other: 404.
    frameworkErrors: (error, _request, reply) => {
      const typed = reply as unknown as FastifyReply;
      if ((error as { code?: string }).code === "FST_ERR_BAD_URL") return sendEnded(typed, 404);
      return sendText(typed, (error as { statusCode?: number }).statusCode ?? 400, error.message);
    },
  }) as unknown as FastifyInstance;
  // tus PATCH bodies are streamed by the handler itself, never buffered.
  app.addContentTypeParser("application/offset+octet-stream", (_request, _payload, done) => done(null));
  await app.register(formbody, { bodyLimit: 4096 });
  await app.register(rateLimit, { max: options.requestsPerMinute ?? 600, timeWindow: 60_000 });
  app.addHook("onSend", async (_request, reply) => {
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer"); // the URL holds the link's secret
    reply.header("x-frame-options", "DENY");
    reply.header("cross-origin-resource-policy", "same-origin");
    if (!reply.hasHeader("content-security-policy")) reply.header("content-security-policy", PAGE_CSP);
  });

  const handler = new ShareHandler(server, options.transfersPerLink ?? 16, new LinkRate(options.requestsPerLinkPerMinute ?? 1200), assets, new UnlockFailures(options.passwordFailures));
  app.get("/assets/:file", (request, reply) => handler.asset(request, reply));
  app.route({ method: ["GET", "HEAD", "POST", "PATCH", "OPTIONS"], url: "/s/*", handler: (request, reply) => handler.handle(request, reply) });
  app.setNotFoundHandler((_request, reply) => sendEnded(reply, 404));
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    if (error.statusCode === 429) return reply.code(429).type("text/plain; charset=utf-8").send("too many requests; try again in a minute\n");
    if (error.statusCode && error.statusCode < 500) return reply.code(error.statusCode).type("text/plain; charset=utf-8").send(`${error.message}\n`);
    server.emit("internal-error", { connection: 0, remote: `${request.ip} (http)`, message: error.message, stack: error.stack ?? "" });
    return reply.code(500).type("text/plain; charset=utf-8").send("internal error; the server logged it\n");
  });

  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (cause) {
    throw new ServerError(`cannot listen for share links on ${options.host}:${options.port}: ${(cause as Error).message}`, { code: "LISTEN_FAILED", cause });
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const scheme = https ? "https" : "http";
  const url = `${scheme}://${urlHost(options.host)}:${port}`;
  const wildcard = options.host === "0.0.0.0" || options.host === "::";
  await server.enableSharing((local) => {
    if (options.publicUrl) return options.publicUrl.replace(/\/+$/, "");
    const host = wildcard ? local.replace(/^::ffff:/, "") : options.host;
    return `${scheme}://${urlHost(host)}:${port}`;
  });
  return {
    url,
    port,
    close: () => app.close(),
    async reloadCertificate() {
      const tls = server.config.tls;
      if (!https || !tls) return;
      (app.server as unknown as { setSecureContext(options: object): void }).setSecureContext({ cert: await readFile(tls.cert), key: await readFile(tls.key), minVersion: "TLSv1.2" });
    },
  };
}

function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

interface Assets {
  [file: string]: { body: Buffer; type: string };
}

async function loadAssets(dir: string): Promise<Assets> {
  // dist/assets holds a copy of tus-js-client's browser build (the package build copies it); in src/ it is read from the package.
  const tus = await readFile(path.join(dir, "tus.min.js")).catch(() =>
    readFile(path.join(path.dirname(fileURLToPath(import.meta.resolve("tus-js-client"))), "..", "..", "dist", "tus.min.js")),
  );
  return {
    "style.css": { body: await readFile(path.join(dir, "style.css")), type: "text/css; charset=utf-8" },
    "upload.js": { body: await readFile(path.join(dir, "upload.js")), type: "text/javascript; charset=utf-8" },
    "tus.min.js": { body: tus, type: "text/javascript; charset=utf-8" },
  };
}

function sendEnded(reply: FastifyReply, status: 404 | 410): FastifyReply {
  return reply.code(status).header("cache-control", "no-store").type("text/html; charset=utf-8").send(endedPage(status));
}

function sendText(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.code(status).header("cache-control", "no-store").type("text/plain; charset=utf-8").send(`${text}\n`);
}

/** The routes under /s/<secret>/, each checked against the link before anything is looked up. */
class ShareHandler {
  readonly #server: FerryServer;
  readonly #transfersPerLink: number;
  readonly #assets: Assets;
  readonly #active = new Map<string, number>();
  readonly #failures: UnlockFailures;
  readonly #rate: LinkRate;

  constructor(server: FerryServer, transfersPerLink: number, rate: LinkRate, assets: Assets, failures: UnlockFailures) {
    this.#server = server;
    this.#failures = failures;
    this.#transfersPerLink = transfersPerLink;
    this.#rate = rate;
    this.#assets = assets;
  }

  asset(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const asset = this.#assets[(request.params as { file: string }).file];
    if (!asset) return sendEnded(reply, 404);
    return reply.header("cache-control", "public, max-age=3600").type(asset.type).send(asset.body);
  }

  async handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const segments = splitSharePath(request.raw.url ?? "");
    if (!segments || segments[0] !== "s" || segments.length < 2) return sendEnded(reply, 404);
    const secret = segments[1]!;
    const rest = segments.slice(2);
    const found = await lookUpLink(this.#server, secret, Date.now());
    if (found.status === 404) return sendEnded(reply, 404);
    // A used-up download link still finishes the downloads it began (a Range from past byte 0).
    if (found.status === 410 && !(found.why === "exhausted" && rest[0] === "f" && resumes(request))) return sendEnded(reply, 410);
    const link = found.link;
    const base = `/s/${secret}`;
    if (!this.#rate.take(link.record.key, Date.now())) return sendText(reply, 429, "this share is taking too many requests; try again in a minute");
    if (rest[0] === "unlock" && rest.length === 1 && request.method === "POST") return this.#unlock(request, reply, link, base, secret);
    if (link.record.password !== null) {
      if (await this.#failures.blocked(request.ip, link.fingerprint)) return sendText(reply, 429, "too many wrong passwords for this link; try again later");
      if (!(await unlocked(link, parseCookies(request.headers.cookie), request.headers.authorization))) {
        if (request.headers.authorization) this.#failures.failed(request.ip, link.fingerprint, Date.now());
        if (rest.length === 0 && request.method === "GET") {
          return reply.code(401).header("cache-control", "no-store").header("www-authenticate", 'Basic realm="Ferry share", charset="UTF-8"').type("text/html; charset=utf-8").send(passwordPage(base, false));
        }
        return reply.code(401).header("www-authenticate", 'Basic realm="Ferry share", charset="UTF-8"').header("cache-control", "no-store").type("text/plain; charset=utf-8").send("this share needs its password\n");
      }
    }
    try {
      return await this.#route(request, reply, link, base, rest);
    } catch (error) {
      if (error instanceof HttpRefusal) return sendText(reply, error.status, error.message);
      if (error instanceof ServerError) {
        const status = statusFor(error.code);
        if (status === 404) return sendEnded(reply, 404);
        if (status === 500) this.#server.emit("internal-error", { connection: 0, remote: `${request.ip} (http)`, message: `${error.code}: ${error.message}`, stack: error.stack ?? "" });
        return sendText(reply, status, status === 500 ? "the server could not do this; it logged why" : error.message);
      }
      throw error;
    }
  }

  async #route(request: FastifyRequest, reply: FastifyReply, link: OpenLink, base: string, rest: string[]): Promise<FastifyReply> {
    const { record } = link;
    const method = request.method;
    if (record.kind === "upload") {
      if (rest.length === 0 && (method === "GET" || method === "HEAD")) {
        return reply.header("cache-control", "no-store").type("text/html; charset=utf-8").send(uploadPage(base, record, TUS_CHUNK, this.#server.config.maxFileSize));
      }
      if (rest[0] === "tus") return this.#tus(request, reply, link, base, rest.slice(1));
      return sendEnded(reply, 404);
    }
    if (method !== "GET" && method !== "HEAD") return sendText(reply, 405, "only GET and HEAD here");
    if (rest.length === 0) {
      const only = record.paths.length === 1 && (record.paths[0] === "" || record.paths[0]!.endsWith("/")) ? record.paths[0]!.replace(/\/$/, "") : null;
      const rows = only === null ? await this.#linkRows(link) : await this.#folderRows(link, only);
      return sendPage(reply, downloadPage(base, record, rows, null), record.password !== null);
    }
    const name = rest.slice(1).join("/");
    switch (rest[0]) {
      case "d":
        if (rest.length < 2 || !reachesFolder(record, name)) return sendEnded(reply, 404);
        return sendPage(reply, downloadPage(base, record, await this.#folderRows(link, name), name), record.password !== null);
      case "f":
        if (rest.length < 2 || !reachesFile(record, name)) return sendEnded(reply, 404);
        return this.#file(request, reply, link, name);
      case "z":
        if (rest.length >= 2 && !reachesFolder(record, name)) return sendEnded(reply, 404);
        return this.#zip(request, reply, link, rest.length >= 2 ? name : null);
      default:
        return sendEnded(reply, 404);
    }
  }

  /** POST /s/<secret>/unlock: the form's password; right: a cookie for the link's path and back to its page. */
  async #unlock(request: FastifyRequest, reply: FastifyReply, link: OpenLink, base: string, secret: string): Promise<FastifyReply> {
    const now = Date.now();
    if (link.record.password === null) return reply.redirect(`${base}/`, 303);
    if (await this.#failures.blocked(request.ip, link.fingerprint)) return sendText(reply, 429, "too many wrong passwords for this link; try again later");
    const password = (request.body as { password?: unknown } | undefined)?.password;
    if (typeof password !== "string" || !(await checkSharePassword(password, link.record.password))) {
      this.#failures.failed(request.ip, link.fingerprint, now);
      return reply.code(401).header("cache-control", "no-store").type("text/html; charset=utf-8").send(passwordPage(base, true));
    }
    const secure = this.#server.config.tls ? "; Secure" : "";
    reply.header("set-cookie", `${unlockCookieName(link)}=${unlockToken(link.record)}; Path=/s/${secret}; HttpOnly; SameSite=Strict${secure}`);
    return reply.redirect(`${base}/`, 303);
  }

  /** One stored file: RFC 9110 semantics by planFileResponse; a response from byte 0 counts a download. */
  async #file(request: FastifyRequest, reply: FastifyReply, link: OpenLink, name: string): Promise<FastifyReply> {
    const reader = await link.space.storage.openForRead(name);
    const header = (key: string): string | undefined => {
      const value = request.headers[key];
      return Array.isArray(value) ? value.join(",") : value;
    };
    const plan = planFileResponse(reader, path.posix.basename(name), {
      method: request.method,
      ...optional("range", header("range")),
      ...optional("ifRange", header("if-range")),
      ...optional("ifNoneMatch", header("if-none-match")),
    });
    const sending = request.method === "GET" && (plan.status === 200 || plan.status === 206);
    const start = plan.range?.start ?? 0;
    if (!sending) reader.close();
    else if (start === 0 && !(await this.#server.shares!.countDownload(link.record.key, Date.now()))) {
      reader.close();
      return sendEnded(reply, 410); // the last download went to someone else a moment ago
    } else if (start > 0 && link.record.downloads === 0) {
      reader.close();
      return sendText(reply, 416, "a download of this share starts at byte 0");
    }
    reply.code(plan.status).headers(plan.headers).header("content-security-policy", DOWNLOAD_CSP);
    if (!sending || plan.range === null) return reply.send();
    const { end } = plan.range;
    return this.#transfer(request, reply, link, (onBytes) => fileBody(reader, start, end, onBytes), () => reader.close(), { name, zip: false, from: start, length: end - start + 1 });
  }

  /** A folder (or the whole link) as a zip, streamed; counts one download. */
  async #zip(request: FastifyRequest, reply: FastifyReply, link: OpenLink, folder: string | null): Promise<FastifyReply> {
    const entries = folder === null ? await this.#linkZipEntries(link) : (await link.space.storage.list(folder)).map((entry) => zipEntry(entry, folder));
    const zipName = `${folder === null ? "shared-files" : path.posix.basename(folder)}.zip`;
    const headers = { "content-type": "application/zip", "content-disposition": attachment(zipName), "cache-control": "no-store", "content-security-policy": DOWNLOAD_CSP };
    if (request.method === "HEAD") return reply.headers(headers).send();
    if (!(await this.#server.shares!.countDownload(link.record.key, Date.now()))) return sendEnded(reply, 410);
    reply.headers(headers);
    return this.#transfer(request, reply, link, (onBytes) => folderZip(link.space.storage, entries, onBytes), () => undefined, { name: folder ?? "", zip: true, from: 0, length: null });
  }

  /**
   * Streams a body with the per-link cap, the minimum-rate rule of the TCP side (a visitor reading
   * slower is cut), and a share-downloaded event when the response ends or is abandoned.
   */
  #transfer(
    request: FastifyRequest,
    reply: FastifyReply,
    link: OpenLink,
    makeBody: (onBytes: (n: number) => void) => NodeJS.ReadableStream,
    release: () => void,
    what: { name: string; zip: boolean; from: number; length: number | null },
  ): FastifyReply {
    if (!this.#enter(link)) {
      release();
      return sendText(reply.removeHeader("content-disposition").removeHeader("content-length").removeHeader("content-range"), 429, "this share is busy; try again shortly");
    }
    let bytes = 0;
    const body = makeBody((n) => (bytes += n));
    const stopWatch = this.#watchRate(request.raw.socket);
    reply.raw.once("close", () => {
      stopWatch();
      this.#leave(link);
      const complete = reply.raw.writableFinished;
      this.#server.emit("share-downloaded", { remote: request.ip, fingerprint: link.fingerprint, name: what.name, zip: what.zip, from: what.from, bytes, complete });
    });
    return reply.send(body);
  }

  /** tus 1.0.0 core + creation, under /s/<secret>/tus (upload links only). */
  async #tus(request: FastifyRequest, reply: FastifyReply, link: OpenLink, base: string, rest: string[]): Promise<FastifyReply> {
    reply.header("tus-resumable", TUS_VERSION).header("cache-control", "no-store");
    const config = this.#server.config;
    const { record } = link;
    if (request.method === "OPTIONS" && rest.length === 0) {
      return reply.code(204).headers({ "tus-version": TUS_VERSION, "tus-extension": TUS_EXTENSIONS, "tus-max-size": String(Math.min(config.maxFileSize, record.maxBytes ?? Infinity)) }).send();
    }
    if (request.headers["tus-resumable"] !== TUS_VERSION) return reply.code(412).header("tus-version", TUS_VERSION).send();
    if (request.method === "POST" && rest.length === 0) {
      const size = Number(request.headers["upload-length"]);
      if (!Number.isSafeInteger(size) || size < 0) return sendText(reply, 400, "Upload-Length must be the file's size in bytes");
      const name = parseUploadMetadata(request.headers["upload-metadata"] as string | undefined).get("filename");
      if (!name) return sendText(reply, 400, "Upload-Metadata must carry the filename");
      const upload = { name, size, nonce: randomBytes(12).toString("base64url") };
      try {
        link.space.storage.checkName(targetName(link, upload));
      } catch (error) {
        if (error instanceof ServerError) return sendText(reply, 400, error.message);
        throw error;
      }
      if (size > config.maxFileSize) return sendText(reply, 413, `files up to ${config.maxFileSize} bytes`);
      if (record.maxFiles !== null && record.uploadedFiles >= record.maxFiles) return sendText(reply, 413, "this link takes no more files");
      if (record.maxBytes !== null && record.uploadedBytes + size > record.maxBytes) return sendText(reply, 413, "this link takes no more bytes than that");
      return reply.code(201).header("location", `${base}/tus/${encodeUploadId(upload)}`).send();
    }
    const id = rest[0];
    const upload = rest.length === 1 && id ? decodeUploadId(id) : null;
    if (!upload || !id) return sendEnded(reply, 404);
    if (request.method === "HEAD") {
      const offset = await heldOffset(link, id, upload);
      return reply.code(200).headers({ "upload-offset": String(offset), "upload-length": String(upload.size) }).send();
    }
    if (request.method !== "PATCH") return sendText(reply, 405, "HEAD or PATCH an upload");
    if (request.headers["content-type"] !== "application/offset+octet-stream") return sendText(reply, 415, "PATCH bodies are application/offset+octet-stream");
    const offset = Number(request.headers["upload-offset"]);
    if (!Number.isSafeInteger(offset) || offset < 0) return sendText(reply, 400, "Upload-Offset must be a byte offset");
    if (!this.#enter(link)) return sendText(reply, 429, "this share is busy; try again shortly");
    const stopWatch = this.#watchRate(request.raw.socket);
    try {
      const outcome = await receivePatch(this.#server, link, id, upload, offset, request.raw);
      if (outcome.stored) {
        const { name, sha256, resumedFrom } = outcome.stored;
        reply.header("ferry-stored-name", encodeURIComponent(name)).header("ferry-sha256", sha256);
        this.#server.emit("share-uploaded", { remote: request.ip, fingerprint: link.fingerprint, name, size: upload.size, sha256, resumedFrom });
      }
      return reply.code(204).header("upload-offset", String(outcome.offset)).send();
    } finally {
      stopWatch();
      this.#leave(link);
    }
  }

  /** The rows of a link's own page: each named file, each named folder. */
  async #linkRows(link: OpenLink): Promise<PageRow[]> {
    const rows: PageRow[] = [];
    for (const shared of link.record.paths) {
      if (shared.endsWith("/") || shared === "") {
        const folder = shared.replace(/\/$/, "");
        const entries = await link.space.storage.list(folder === "" ? undefined : folder).catch(() => null);
        if (entries) rows.push({ kind: "folder", label: path.posix.basename(folder) || "all files", name: folder, files: entries.length, bytes: sum(entries) });
        continue;
      }
      try {
        const reader = await link.space.storage.openForRead(shared);
        reader.close();
        rows.push({ kind: "file", label: path.posix.basename(shared), name: shared, size: reader.size, digest: reader.digest });
      } catch (error) {
        if (!(error instanceof ServerError && error.code === "NOT_FOUND")) throw error; // deleted since: not shown
      }
    }
    return rows;
  }

  /** A folder's direct files, and its subfolders with their totals. */
  async #folderRows(link: OpenLink, folder: string): Promise<PageRow[]> {
    const entries = await link.space.storage.list(folder === "" ? undefined : folder);
    const prefix = folder === "" ? "" : `${folder}/`;
    const files: PageRow[] = [];
    const folders = new Map<string, ListEntry[]>();
    for (const entry of entries) {
      const inside = entry.name.slice(prefix.length);
      const slash = inside.indexOf("/");
      if (slash === -1) files.push({ kind: "file", label: inside, name: entry.name, size: entry.size, digest: entryDigest(entry) });
      else {
        const sub = inside.slice(0, slash);
        folders.set(sub, [...(folders.get(sub) ?? []), entry]);
      }
    }
    const folderRows: PageRow[] = [...folders].map(([sub, within]) => ({ kind: "folder", label: sub, name: `${prefix}${sub}`, files: within.length, bytes: sum(within) }));
    return [...folderRows, ...files];
  }

  async #linkZipEntries(link: OpenLink): Promise<ZipEntry[]> {
    const entries: ZipEntry[] = [];
    for (const shared of link.record.paths) {
      if (shared.endsWith("/") || shared === "") {
        const folder = shared.replace(/\/$/, "");
        const parent = path.posix.dirname(folder) === "." ? "" : path.posix.dirname(folder);
        for (const entry of await link.space.storage.list(folder === "" ? undefined : folder)) entries.push(zipEntry(entry, parent));
      } else {
        const listed = await link.space.storage.list(path.posix.dirname(shared) === "." ? undefined : path.posix.dirname(shared)).catch(() => []);
        const entry = listed.find((candidate) => candidate.name === shared);
        if (entry) entries.push({ stored: shared, inZip: path.posix.basename(shared), size: entry.size, mtime: entry.mtime });
      }
    }
    return entries;
  }

  #enter(link: OpenLink): boolean {
    const active = this.#active.get(link.record.key) ?? 0;
    if (active >= this.#transfersPerLink) return false;
    this.#active.set(link.record.key, active + 1);
    return true;
  }

  #leave(link: OpenLink): void {
    const left = (this.#active.get(link.record.key) ?? 1) - 1;
    if (left > 0) this.#active.set(link.record.key, left);
    else this.#active.delete(link.record.key);
  }

  /** The TCP side's minimum data rate, for one transfer on this socket: slower, and the socket is cut. */
  #watchRate(socket: Socket): () => void {
    const { minBytesPerSecond, rateWindowMs } = this.#server.config;
    const watch = new RateWatch(socket, { minBytesPerSecond, windowMs: rateWindowMs }, () => true, (error) => socket.destroy(error));
    return () => watch.stop();
  }
}

function resumes(request: FastifyRequest): boolean {
  const range = request.headers.range;
  return typeof range === "string" && /^bytes=\s*[1-9]\d*-/.test(range);
}

function sendPage(reply: FastifyReply, page: string, locked: boolean): FastifyReply {
  return reply.header("cache-control", locked ? "no-store" : "private, no-cache").type("text/html; charset=utf-8").send(page);
}

function zipEntry(entry: ListEntry, parent: string): ZipEntry {
  return { stored: entry.name, inZip: parent === "" ? entry.name : entry.name.slice(parent.length + 1), size: entry.size, mtime: entry.mtime };
}

function sum(entries: ListEntry[]): number {
  return entries.reduce((total, entry) => total + entry.size, 0);
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

