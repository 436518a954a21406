export { startShareWeb, type ShareWeb, type ShareWebOptions } from "./share-web.js";
export { TUS_CHUNK } from "./tus-upload.js";
export type { PasswordFailureLedger } from "./unlock-failures.js";
