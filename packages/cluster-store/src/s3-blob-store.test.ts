// S3BlobStore against a real S3 API (Swift's s3api in CI): what the cluster storage relies on.
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ServerError } from "@ferry/server-core";
import { S3BlobStore } from "./s3-blob-store.js";
import { clusterEnv, TEST_BUCKET } from "./testing/cluster-env.js";

const env = clusterEnv();
const MiB = 1024 * 1024;

async function readAll(store: S3BlobStore, key: string, start: number, end: number): Promise<Buffer> {
  const pieces: Uint8Array[] = [];
  for await (const piece of await store.read(key, start, end)) pieces.push(piece);
  return Buffer.concat(pieces);
}

if ("skipped" in env) {
  console.log(`skipped: S3BlobStore: ${env.skipped}`);
  describe.skip("S3BlobStore", () => it("needs an S3 API", () => undefined));
} else {
  describe("S3BlobStore", () => {
    let store: S3BlobStore;
    beforeEach(async () => {
      store = new S3BlobStore({ endpoint: env.s3Endpoint, bucket: TEST_BUCKET, prefix: `blob-${randomBytes(4).toString("hex")}/` });
      await store.check();
    });
    afterEach(() => store.close());

    it("keeps a multipart object invisible until complete, and whole after", async () => {
      const parts = [randomBytes(5 * MiB), randomBytes(1234)];
      const id = await store.begin("objects/m");
      const etags = [];
      for (const [at, body] of parts.entries()) etags.push({ number: at + 1, etag: await store.putPart("objects/m", id, at + 1, body) });
      const future = new Date(Date.now() + 60_000);
      expect(await store.objects(future)).toEqual([]);
      expect((await store.unfinished(future)).map((u) => u.key)).toEqual(["objects/m"]);
      await store.complete("objects/m", id, etags);
      expect(await store.objects(future)).toEqual(["objects/m"]);
      expect(await store.unfinished(future)).toEqual([]);
      const whole = Buffer.concat(parts);
      expect((await readAll(store, "objects/m", 0, whole.length)).equals(whole)).toBe(true);
      expect((await readAll(store, "objects/m", 5 * MiB - 10, 5 * MiB + 10)).equals(whole.subarray(5 * MiB - 10, 5 * MiB + 10))).toBe(true);
    });

    it("refuses a part under 5 MiB that is not the last (S3's rule the part size follows)", async () => {
      const id = await store.begin("objects/small");
      const etags = [
        { number: 1, etag: await store.putPart("objects/small", id, 1, randomBytes(1024)) },
        { number: 2, etag: await store.putPart("objects/small", id, 2, randomBytes(1024)) },
      ];
      const error = await store.complete("objects/small", id, etags).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((error as ServerError).code).toBe("STORAGE_ERROR");
      await store.abort("objects/small", id);
      expect(await store.unfinished(new Date(Date.now() + 60_000))).toEqual([]);
    });

    it("stores a small object in one request, deletes it, and ignores a second delete and an unknown abort", async () => {
      await store.put("objects/s", Buffer.from("hello"));
      expect((await readAll(store, "objects/s", 0, 5)).toString()).toBe("hello");
      await store.delete("objects/s");
      await store.delete("objects/s");
      await store.abort("objects/nothing", "no-such-upload");
      expect(await store.objects(new Date(Date.now() + 60_000))).toEqual([]);
    });
  });
}
