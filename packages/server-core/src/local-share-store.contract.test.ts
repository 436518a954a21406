import { describeShareStoreContract } from "./testing/share-store-contract.js";
import { tempDir } from "./testing/fixtures.js";
import { LocalShareStore } from "./local-share-store.js";

// One server owns a local directory's links, so "another view" is the same store object; a
// restart is covered by reading the file again in local-share-store.test.ts.
describeShareStoreContract("local JSON file", async () => {
  const { dir, cleanup } = await tempDir("ferry-shares-");
  const store = await LocalShareStore.open(dir);
  return { open: async () => store, cleanup };
});
