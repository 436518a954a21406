import { storageContract } from "./testing/storage-contract.js";
import { tempDir } from "./testing/fixtures.js";
import { StorageRoot } from "./storage-root.js";

// The local directory, the default storage: each view is a StorageRoot on the same directory.
storageContract(
  "local directory",
  async () => {
    const base = await tempDir();
    return { open: () => StorageRoot.open(base.dir, { fsync: false }), cleanup: base.cleanup };
  },
  // Both: the whole-file hash of a resumed upload is rebuilt from the bytes on disk.
  { viewsShareState: false, digests: ["sha256", "blake3"] },
);
