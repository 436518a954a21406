import { createHash } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { ServerError } from "@ferry/server-core";
import type { BlobStore, PartRecord } from "./blob-store.js";

export interface S3Options {
  /** http(s)://host:port of the S3 API. */
  endpoint: string;
  bucket: string;
  /** Default us-east-1 (what Swift's s3api and MinIO answer to). */
  region?: string;
  /** Default: the SDK's chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, shared config…). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Every key starts with this (tests share one bucket). Default "". */
  prefix?: string;
}

/**
 * BlobStore over the S3 API through @aws-sdk/client-s3 (the client users know; it signs, retries
 * and pools connections). Path-style addressing (Swift, MinIO and Ceph expect it); checksums only
 * where the API requires them: integrity is Content-MD5 on every write, which Swift's s3api checks
 * (it ignores x-amz-checksum-* headers, docs/scale-out.md).
 */
export class S3BlobStore implements BlobStore {
  readonly location: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(options: S3Options) {
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? "";
    this.location = `s3://${options.bucket}${this.#prefix ? `/${this.#prefix}` : ""} at ${options.endpoint}`;
    this.#client = new S3Client({
      endpoint: options.endpoint,
      forcePathStyle: true,
      region: options.region ?? "us-east-1",
      ...(options.credentials ? { credentials: options.credentials } : {}),
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      // A store that went away fails the request in seconds (STORAGE_ERROR), not minutes.
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 3_000, requestTimeout: 60_000 },
    });
  }

  async check(): Promise<void> {
    try {
      await this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, MaxKeys: 1 }));
      return;
    } catch (error) {
      if (errorName(error) !== "NoSuchBucket") throw unusable(this.location, error, await this.#accessKey());
    }
    try {
      await this.#client.send(new CreateBucketCommand({ Bucket: this.#bucket }));
    } catch (error) {
      // Another server made it meanwhile: fine.
      if (!["BucketAlreadyOwnedByYou", "BucketAlreadyExists"].includes(errorName(error))) throw unusable(this.location, error, await this.#accessKey());
    }
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.#call(`cannot store an object`, () =>
      this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), Body: body, ContentMD5: md5(body), ContentLength: body.length })),
    );
  }

  async begin(key: string): Promise<string> {
    const answer = await this.#call("cannot start a multipart upload", () =>
      this.#client.send(new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#key(key) })),
    );
    if (!answer.UploadId) throw new ServerError("the object store gave no upload id", { code: "STORAGE_ERROR" });
    return answer.UploadId;
  }

  async putPart(key: string, uploadId: string, number: number, body: Buffer): Promise<string> {
    const answer = await this.#call(`cannot store part ${number}`, () =>
      this.#client.send(
        new UploadPartCommand({
          Bucket: this.#bucket,
          Key: this.#key(key),
          UploadId: uploadId,
          PartNumber: number,
          Body: body,
          ContentMD5: md5(body),
          ContentLength: body.length,
        }),
      ),
    );
    if (!answer.ETag) throw new ServerError("the object store gave no ETag for a part", { code: "STORAGE_ERROR" });
    return answer.ETag;
  }

  async complete(key: string, uploadId: string, parts: readonly PartRecord[]): Promise<void> {
    await this.#call("cannot complete a multipart upload", () =>
      this.#client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.#bucket,
          Key: this.#key(key),
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.number, ETag: part.etag })) },
        }),
      ),
    );
  }

  async abort(key: string, uploadId: string): Promise<void> {
    try {
      await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#key(key), UploadId: uploadId }));
    } catch (error) {
      if (errorName(error) !== "NoSuchUpload") throw storageError("cannot abort a multipart upload", error);
    }
  }

  async read(key: string, start: number, end: number): Promise<AsyncIterable<Uint8Array>> {
    if (end <= start) return (async function* () {})();
    const answer = await this.#call("cannot read an object", () =>
      this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), Range: `bytes=${start}-${end - 1}` })),
    );
    if (!answer.Body) throw new ServerError("the object store sent no body", { code: "STORAGE_ERROR" });
    return answer.Body as AsyncIterable<Uint8Array>;
  }

  async delete(key: string): Promise<void> {
    await this.#call("cannot delete an object", () => this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) })));
  }

  async unfinished(before: Date): Promise<{ key: string; uploadId: string }[]> {
    const found: { key: string; uploadId: string }[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.#call("cannot list multipart uploads", () =>
        this.#client.send(
          new ListMultipartUploadsCommand({ Bucket: this.#bucket, Prefix: this.#prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        ),
      );
      for (const upload of page.Uploads ?? []) {
        if (upload.Key && upload.UploadId && upload.Initiated && upload.Initiated < before) {
          found.push({ key: upload.Key.slice(this.#prefix.length), uploadId: upload.UploadId });
        }
      }
      if (!page.IsTruncated) return found;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  async objects(before: Date): Promise<string[]> {
    const found: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.#call("cannot list objects", () =>
        this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#prefix, ContinuationToken: token })),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key && object.LastModified && object.LastModified < before) found.push(object.Key.slice(this.#prefix.length));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  close(): void {
    this.#client.destroy();
  }

  /** The access key id in use (not secret: it names the credential to check), if one resolves. */
  async #accessKey(): Promise<string | undefined> {
    try {
      return (await this.#client.config.credentials()).accessKeyId;
    } catch {
      return undefined;
    }
  }

  #key(key: string): string {
    return this.#prefix + key;
  }

  async #call<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw storageError(what, error);
    }
  }
}

function md5(body: Buffer): string {
  return createHash("md5").update(body).digest("base64");
}

function errorName(error: unknown): string {
  if (error instanceof S3ServiceException) return error.name;
  return (error as NodeJS.ErrnoException | undefined)?.code ?? (error as Error | undefined)?.name ?? "";
}

/** One line a person can act on: what the store said, or that it did not answer. */
function describeFailure(error: unknown, accessKey?: string): string {
  const name = errorName(error);
  const key = accessKey === undefined ? "the access key" : `access key ${JSON.stringify(accessKey)}`;
  switch (name) {
    case "CredentialsProviderError":
      return "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or s3.accessKeyId and s3.secretAccessKey in the config file";
    case "InvalidAccessKeyId":
      return `the object store does not know ${key} (AWS_ACCESS_KEY_ID)`;
    case "SignatureDoesNotMatch":
      // Swift's s3api answers this for an unknown access key too: name both, the secret first.
      return `the object store refused the signature made with ${key}: the secret key (AWS_SECRET_ACCESS_KEY) is wrong for it, or the store does not know that access key (AWS_ACCESS_KEY_ID)`;
    case "AccessDenied":
      return "the object store denied access with these credentials";
    case "ECONNREFUSED":
    case "ECONNRESET":
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENOTFOUND":
    case "TimeoutError":
      return `the object store is unreachable (${name})`;
    default:
      return `${name ? `${name}: ` : ""}${(error as Error).message ?? String(error)}`;
  }
}

function storageError(what: string, error: unknown): ServerError {
  if (error instanceof ServerError) return error;
  return new ServerError(`${what}: ${describeFailure(error)}`, { code: "STORAGE_ERROR", cause: error });
}

function unusable(location: string, error: unknown, accessKey?: string): ServerError {
  return new ServerError(`object store ${location} is unusable: ${describeFailure(error, accessKey)}`, { code: "STORAGE_UNUSABLE", cause: error });
}
