/** Test material for peers of the protocol: the hand-written byte vectors and the naive frame writer. */
export { frame, splitAt } from "./hand-writer.js";
export { CONTROL_VECTORS, DATA_VECTORS, SHA, BLAKE3, type ControlVector } from "./vectors.js";
