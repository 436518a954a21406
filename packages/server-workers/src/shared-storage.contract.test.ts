import { checkServerConfig, type ServerConfig } from "@ferry/protocol";
import { LocalShareStore, StorageRoot } from "@ferry/server-core";
import { tempDir } from "@ferry/server-core/testing";
import { storageContract } from "@ferry/server-core/storage-contract";
import { describeShareStoreContract } from "@ferry/server-core/share-store-contract";
import { channelPair, RpcPeer } from "./rpc.js";
import { WorkerPrimary } from "./primary.js";
import { workerServerOptions } from "./worker.js";

function configFor(dir: string): ServerConfig {
  const checked = checkServerConfig({ dir, fsync: false });
  if (!checked.ok) throw new Error(checked.message);
  return checked.config;
}

/** A primary and a way to make its workers' options, each worker on a channel of its own (IPC through JSON). */
async function primaryOn(dir: string, options: { shares: boolean }): Promise<{ primary: WorkerPrimary; worker: () => ReturnType<typeof workerServerOptions> }> {
  const config = configFor(dir);
  const primary = await WorkerPrimary.open(config, options.shares ? { shares: () => LocalShareStore.open(dir) } : {});
  let workers = 0;
  return {
    primary,
    worker: () => {
      const [atPrimary, atWorker] = channelPair();
      primary.attach(++workers, atPrimary);
      return workerServerOptions(new RpcPeer(atWorker), config, { sharesAtPrimary: options.shares });
    },
  };
}

// Each view is a worker's StorageRoot on the same directory: locks, interrupted uploads and quotas
// are the primary's, so the cases for servers sharing live state run too.
storageContract(
  "local directory shared by workers",
  async () => {
    const base = await tempDir();
    const { primary, worker } = await primaryOn(base.dir, { shares: false });
    return {
      open: () => StorageRoot.open(base.dir, { fsync: false, shared: worker().shared! }),
      cleanup: async () => {
        await primary.close();
        await base.cleanup();
      },
    };
  },
  { viewsShareState: true, digests: ["sha256", "blake3"] },
);

// Each view is a worker's store: every call goes to the primary's one LocalShareStore.
describeShareStoreContract("share links kept by the workers' primary", async () => {
  const base = await tempDir();
  const { primary, worker } = await primaryOn(base.dir, { shares: true });
  return {
    open: async () => worker().shares!(configFor(base.dir)),
    cleanup: async () => {
      await primary.close();
      await base.cleanup();
    },
  };
});
