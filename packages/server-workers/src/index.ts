export { RpcPeer, channelPair, type Channel } from "./rpc.js";
export { WorkerPrimary, type PrimaryOptions } from "./primary.js";
export { workerServerOptions, workerPasswordFailures, serveWorker } from "./worker.js";
