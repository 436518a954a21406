import { describe, expect, it } from "vitest";
import type { BlobStore, PartRecord } from "./blob-store.js";
import { ByteBudget } from "./byte-budget.js";
import type { Catalog, Session } from "./catalog.js";
import { ObjectUpload } from "./object-upload.js";

/** A store that records parts and completions, and a catalog whose session saves wait for the test. */
function fakes() {
  const completed: PartRecord[][] = [];
  const blobs = {
    begin: async () => "upload-1",
    putPart: async (_key: string, _id: string, number: number) => `"etag-${number}"`,
    complete: async (_key: string, _id: string, parts: readonly PartRecord[]) => void completed.push([...parts]),
    abort: async () => undefined,
  } as unknown as BlobStore;
  const saves: (() => void)[] = [];
  const catalog = {
    saveSession: () => new Promise<void>((resolve) => saves.push(resolve)),
    deleteSession: async () => undefined,
    unclaim: async () => undefined,
  } as unknown as Catalog;
  return { blobs, catalog, saves, completed };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("ObjectUpload", () => {
  it("numbers parts in order when a part is cut while the previous one is still being recorded", async () => {
    const { blobs, catalog, saves, completed } = fakes();
    const session: Session = { key: "k", space: "", name: "f", size: 16, chunkSize: 2, object: "objects/x", uploadId: "upload-1", offset: 0, parts: [], chunks: [], hashState: new Uint8Array() };
    const upload = await ObjectUpload.resume({ blobs, catalog, budget: new ByteBudget(1 << 20), partSize: 4 }, session);
    for (let part = 0; part < 4; part++) {
      upload.write(Buffer.alloc(4, part)); // a whole part: cut at once
      await turn(); // its PUT is done; its session save waits
    }
    while (saves.length > 0) {
      saves.shift()!();
      await turn();
    }
    await upload.finish();
    expect(completed).toHaveLength(1);
    expect(completed[0]!.map((p) => p.number)).toEqual([1, 2, 3, 4]);
  });
});
