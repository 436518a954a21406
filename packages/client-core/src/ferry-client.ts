import { checkClientConfig, type ClientConfig, type ClientConfigInput, type DigestAlgorithm, type ListEntry, type ShareInfo } from "@ferry/protocol";
import { uploadBatch, type BatchEntry, type BatchOptions } from "./batch-upload.js";
import { download, type DownloadOptions, type DownloadResult } from "./download.js";
import { ClientError } from "./errors.js";
import { list, remove } from "./requests.js";
import { listShares, revokeShare, share, type ShareOptions, type SharedLink } from "./shares.js";
import { uploadFile, uploadStream, type StreamUploadOptions, type UploadOptions, type UploadResult } from "./upload.js";
import { Wire, type ServerInfo } from "./wire.js";

/**
 * One connection to a Ferry server. Requests may be started concurrently: they take turns on the
 * wire but do not wait for each other's answers (the next PUT follows the last DATA frame).
 *
 * @example
 *   const client = await FerryClient.connect({ host: "127.0.0.1", port: 8080 });
 *   const stored = await client.upload("photo.jpg", { onProgress: (p) => draw(p) });
 *   await client.download("report.pdf", { dir: "./inbox" });
 *   await client.close();
 */
export class FerryClient {
  readonly #wire: Wire;

  private constructor(wire: Wire) {
    this.#wire = wire;
  }

  /** Connects, handshakes and resolves once the server's WELCOME has arrived. */
  static async connect(input: ClientConfigInput = {}, options: { signal?: AbortSignal } = {}): Promise<FerryClient> {
    const checked = checkClientConfig(input);
    if (!checked.ok) throw new ClientError(`invalid client config:\n${checked.message}`, { code: "INVALID_CONFIG" });
    return new FerryClient(await Wire.open(checked.config, options.signal));
  }

  get config(): ClientConfig {
    return this.#wire.config;
  }

  /** The connection's transfer digest (WELCOME.digest): SHA-256 unless BLAKE3 was asked for and granted. */
  get digest(): DigestAlgorithm {
    return this.#wire.digest;
  }

  /** What the server announced: version, agent, limits, capabilities. */
  get server(): ServerInfo {
    return this.#wire.server;
  }

  /** Uploads a local file, streaming it with its digest (the connection's) computed on the way. */
  upload(filePath: string, options: UploadOptions = {}): Promise<UploadResult> {
    return uploadFile(this.#wire, filePath, options);
  }

  /**
   * Uploads small files (each at most 64 KiB) in one request, on servers announcing "batch"
   * (see uploadFiles, which groups a folder's small files this way). One result per file, in order.
   */
  uploadBatch(entries: BatchEntry[], options: BatchOptions = {}): Promise<(UploadResult | ClientError)[]> {
    return uploadBatch(this.#wire, entries, options);
  }

  /** Uploads `size` bytes from any byte stream (a Readable, a generator, an array of buffers…). */
  uploadStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: StreamUploadOptions): Promise<UploadResult> {
    return uploadStream(this.#wire, source, options);
  }

  /** Downloads a stored file into `options.dir`, verified before it gets its name. */
  download(name: string, options: DownloadOptions = {}): Promise<DownloadResult> {
    return download(this.#wire, name, options);
  }

  /**
   * Lists stored files (under server folder `folder`, if given): size, mtime, SHA-256 recorded at
   * upload. `emptyFolders`: empty folders too, as entries named "path/" (servers with "empty-folders").
   */
  list(folder?: string, options: { emptyFolders?: boolean } = {}): Promise<ListEntry[]> {
    return list(this.#wire, folder, options);
  }

  /** Deletes a stored file. */
  delete(name: string): Promise<void> {
    return remove(this.#wire, name);
  }

  /** Makes a share link (servers announcing "share": their HTTP listener is on). */
  share(options: ShareOptions): Promise<SharedLink> {
    return share(this.#wire, options);
  }

  /** My share links, with their counters; expired and used-up ones too. */
  listShares(): Promise<ShareInfo[]> {
    return listShares(this.#wire);
  }

  /** Withdraws one of my share links by its secret or fingerprint; resolves with its fingerprint. */
  revokeShare(link: string): Promise<string> {
    return revokeShare(this.#wire, link);
  }

  /** Ends the connection politely; requests still waiting fail CONNECTION_CLOSED. */
  close(): Promise<void> {
    return this.#wire.close();
  }
}
