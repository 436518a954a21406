export { BufferPool } from "./buffer-pool.js";
export { FrameWriter } from "./frame-writer.js";
export { readAt, writeAllAt, fsyncFd, fdatasyncFd, closeFd } from "./positioned-io.js";
export { ChunkJournal, PARTIAL_PREFIX, JOURNAL_SUFFIX, type JournalHeader } from "./chunk-journal.js";
export { JournalledWriter, type JournalledWriterOptions } from "./journalled-writer.js";
export { digestPrefix, type PrefixDigest, type ReadAt } from "./prefix-digest.js";
export { publishWithPolicy, linkFirstFree, type PublishTarget, type PublishResult } from "./publish-policy.js";
export { makeDirectories } from "./make-directories.js";
export { createHasher, canCopy, copyHasher, digestOf, availableDigests, hashFileStartSync, type Hasher } from "./digest.js";
