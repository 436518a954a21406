// Test helpers for packages that drive a real FerryServer (the e2e suite, the CLIs' tests):
// `@ferry/server-core/testing`. Not part of the server's API; never imported by src/ outside tests.
export { startTestServer, type TestServer, tempDir, writeRandomFile, sha256File, sha256, listDir, waitFor } from "./fixtures.js";
export { WirePeer } from "./wire-peer.js";
export { TEST_CERT, TEST_KEY } from "./tls-fixture.js";
