// The ShareStore contract (`@ferry/server-core/share-store-contract`): one suite every
// implementation of the share-link seam runs. The local JSON file runs it in server-core; the
// PostgreSQL table in @ferry/cluster-store.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newShareSecret, shareFingerprint, shareKey, type ShareRecord } from "../share-links.js";
import type { ShareStore } from "../share-store.js";

export interface ShareStoreFixture {
  /** Another view of the same links (a restarted server, or a second server of the cluster). */
  open(): Promise<ShareStore>;
  cleanup(): Promise<void>;
}

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;

function link(overrides: Partial<ShareRecord> = {}): ShareRecord {
  return {
    key: shareKey(newShareSecret()),
    owner: "alice",
    kind: "download",
    paths: ["a.txt"],
    createdAt: NOW,
    expiresAt: NOW + HOUR,
    maxDownloads: null,
    downloads: 0,
    password: null,
    maxBytes: null,
    maxFiles: null,
    uploadedBytes: 0,
    uploadedFiles: 0,
    ...overrides,
  };
}

export function describeShareStoreContract(name: string, makeFixture: () => Promise<ShareStoreFixture>): void {
  describe(`ShareStore contract: ${name}`, () => {
    let fixture: ShareStoreFixture;
    let store: ShareStore;
    const opened: ShareStore[] = [];
    const open = async (): Promise<ShareStore> => {
      const view = await fixture.open();
      opened.push(view);
      return view;
    };

    beforeEach(async () => {
      fixture = await makeFixture();
      store = await open();
    });
    afterEach(async () => {
      for (const view of opened.splice(0)) await view.close();
      await fixture.cleanup();
    });

    it("stores a link and finds it by key from another view, whole", async () => {
      const record = link({ paths: ["docs/", "ü €.txt"], password: "scrypt$1$1$1$x$y", maxDownloads: 3, kind: "download" });
      await store.create(record);
      expect(await (await open()).get(record.key)).toEqual(record);
      expect(await store.get(shareKey("nope"))).toBeUndefined();
    });

    it("lists each owner's links oldest first, and anonymous links apart", async () => {
      const second = link({ createdAt: NOW + 2 });
      const first = link({ createdAt: NOW + 1 });
      const bobs = link({ owner: "bob" });
      const anonymous = link({ owner: null });
      for (const record of [second, first, bobs, anonymous]) await store.create(record);
      expect((await store.list("alice")).map((r) => r.key)).toEqual([first.key, second.key]);
      expect((await store.list("bob")).map((r) => r.key)).toEqual([bobs.key]);
      expect((await store.list(null)).map((r) => r.key)).toEqual([anonymous.key]);
    });

    it("removes an owner's link by key or fingerprint, and never another owner's", async () => {
      const mine = link();
      const other = link();
      const bobs = link({ owner: "bob" });
      for (const record of [mine, other, bobs]) await store.create(record);
      expect(await store.remove("alice", bobs.key)).toBeUndefined();
      expect(await store.remove("alice", "zz")).toBeUndefined();
      expect((await store.remove("alice", shareFingerprint(mine.key)))?.key).toBe(mine.key);
      expect((await store.remove("alice", other.key))?.key).toBe(other.key);
      const view = await open();
      expect(await view.get(mine.key)).toBeUndefined();
      expect(await view.get(other.key)).toBeUndefined();
      expect(await view.get(bobs.key)).toBeDefined();
    });

    it("counts downloads atomically: concurrent last downloads across views serve exactly maxDownloads", async () => {
      const record = link({ maxDownloads: 3 });
      await store.create(record);
      const other = await open();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? store : other).countDownload(record.key, NOW)));
      expect(results.filter(Boolean)).toHaveLength(3);
      expect((await store.get(record.key))?.downloads).toBe(3);
      expect(await store.countDownload(record.key, NOW)).toBe(false);
    });

    it("refuses to count for an expired or unknown link", async () => {
      const record = link();
      await store.create(record);
      expect(await store.countDownload(record.key, NOW + HOUR)).toBe(false);
      expect(await store.countUpload(record.key, 1, NOW + HOUR)).toBe(false);
      expect(await store.countDownload(shareKey("unknown"), NOW)).toBe(false);
      expect(await store.countDownload(record.key, NOW + HOUR - 1)).toBe(true);
    });

    it("counts uploads within maxFiles and maxBytes, atomically", async () => {
      const record = link({ kind: "upload", paths: [""], maxFiles: 4, maxBytes: 100 });
      await store.create(record);
      const other = await open();
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? store : other).countUpload(record.key, 10, NOW)));
      expect(results.filter(Boolean)).toHaveLength(4);
      const bytes = link({ kind: "upload", paths: [""], maxBytes: 100 });
      await store.create(bytes);
      expect(await store.countUpload(bytes.key, 60, NOW)).toBe(true);
      expect(await store.countUpload(bytes.key, 41, NOW)).toBe(false);
      expect(await store.countUpload(bytes.key, 40, NOW)).toBe(true);
      expect(await other.get(bytes.key)).toMatchObject({ uploadedFiles: 2, uploadedBytes: 100 });
    });

    it("sweeps links that expired before a time, and only those", async () => {
      const old = link({ expiresAt: NOW - 1 });
      const live = link({ expiresAt: NOW + 1 });
      await store.create(old);
      await store.create(live);
      expect(await store.sweep(NOW)).toBe(1);
      expect(await store.get(old.key)).toBeUndefined();
      expect(await store.get(live.key)).toBeDefined();
    });
  });
}
