// The spec's byte vectors, one or more per message type and for DATA: expected bytes are written
// by hand (hand-writer.ts) from docs/protocol.md, never produced by the encoder under test. The
// codec tests run them whole, byte by byte and at every split; the e2e fuzzer mutates them.
import type { Message } from "../messages.js";
import type { UnknownWireCode } from "../error-codes.js";
import { frame } from "./hand-writer.js";

export const SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; // sha256("")
export const BLAKE3 = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"; // blake3("")

const SHARE_INFO = {
  fingerprint: "0123456789ab",
  kind: "download" as const,
  paths: ["a.txt", "docs/"],
  createdAt: 1764633600000,
  expiresAt: 1764720000000,
  maxDownloads: 3,
  downloads: 0,
  password: false,
  maxBytes: null,
  maxFiles: null,
  uploadedBytes: 0,
  uploadedFiles: 0,
};
const SHARE_INFO_JSON = '{"fingerprint":"0123456789ab","kind":"download","paths":["a.txt","docs/"],"createdAt":1764633600000,"expiresAt":1764720000000,"maxDownloads":3,"downloads":0,"password":false,"maxBytes":null,"maxFiles":null,"uploadedBytes":0,"uploadedFiles":0}';

export interface ControlVector {
  name: string;
  message: Message;
  bytes: Buffer;
}

// Expected bytes: 0x01 (CONTROL), u32 length, then the JSON written out by hand in schema order.
export const CONTROL_VECTORS: ControlVector[] = [
  {
    name: "share",
    message: { type: "share", id: 3, kind: "download", paths: ["a.txt", "docs/"], expiresIn: 86400, maxDownloads: 3 },
    bytes: frame(0x01, '{"type":"share","id":3,"kind":"download","paths":["a.txt","docs/"],"expiresIn":86400,"maxDownloads":3}'),
  },
  {
    name: "share for uploads with a password",
    message: { type: "share", id: 4, kind: "upload", paths: ["inbox/"], expiresIn: 3600, password: "pw", maxBytes: 1048576, maxFiles: 10 },
    bytes: frame(0x01, '{"type":"share","id":4,"kind":"upload","paths":["inbox/"],"expiresIn":3600,"password":"pw","maxBytes":1048576,"maxFiles":10}'),
  },
  {
    name: "shared",
    message: { type: "shared", id: 3, url: "https://h:8443/s/AAAAAAAAAAAAAAAAAAAAAA", secret: "AAAAAAAAAAAAAAAAAAAAAA", link: SHARE_INFO },
    bytes: frame(0x01, `{"type":"shared","id":3,"url":"https://h:8443/s/AAAAAAAAAAAAAAAAAAAAAA","secret":"AAAAAAAAAAAAAAAAAAAAAA","link":${SHARE_INFO_JSON}}`),
  },
  { name: "share_list", message: { type: "share_list", id: 5 }, bytes: frame(0x01, '{"type":"share_list","id":5}') },
  {
    name: "shares",
    message: { type: "shares", id: 5, links: [SHARE_INFO], more: false },
    bytes: frame(0x01, `{"type":"shares","id":5,"links":[${SHARE_INFO_JSON}],"more":false}`),
  },
  {
    name: "share_revoke",
    message: { type: "share_revoke", id: 6, link: "0123456789ab" },
    bytes: frame(0x01, '{"type":"share_revoke","id":6,"link":"0123456789ab"}'),
  },
  {
    name: "share_revoked",
    message: { type: "share_revoked", id: 6, fingerprint: "0123456789ab" },
    bytes: frame(0x01, '{"type":"share_revoked","id":6,"fingerprint":"0123456789ab"}'),
  },
  {
    name: "hello",
    message: { type: "hello", version: 1, agent: "t" },
    bytes: frame(0x01, '{"type":"hello","version":1,"agent":"t"}'),
  },
  {
    name: "welcome",
    message: {
      type: "welcome",
      version: 1,
      agent: "s",
      limits: { maxDataPayload: 1048576, maxFileSize: 9007199254740991 },
      capabilities: ["upload"],
    },
    bytes: frame(
      0x01,
      '{"type":"welcome","version":1,"agent":"s","limits":{"maxDataPayload":1048576,"maxFileSize":9007199254740991},"capabilities":["upload"]}',
    ),
  },
  {
    name: "put with a non-ASCII name",
    message: { type: "put", id: 7, name: "ünï €.bin", size: 3 },
    bytes: frame(0x01, Buffer.from('{"type":"put","id":7,"name":"ünï €.bin","size":3}', "utf8")),
  },
  {
    name: "put_end",
    message: { type: "put_end", id: 4294967295, sha256: SHA },
    bytes: frame(0x01, `{"type":"put_end","id":4294967295,"sha256":"${SHA}"}`),
  },
  { name: "cancel", message: { type: "cancel", id: 0 }, bytes: frame(0x01, '{"type":"cancel","id":0}') },
  {
    name: "stored",
    message: { type: "stored", id: 1, name: "a (1).txt", size: 0, sha256: SHA },
    bytes: frame(0x01, `{"type":"stored","id":1,"name":"a (1).txt","size":0,"sha256":"${SHA}"}`),
  },
  {
    name: "put_batch",
    message: { type: "put_batch", id: 9, files: [{ name: "a.txt", size: 0, sha256: SHA }, { name: "d/b.bin", size: 65536, sha256: SHA }] },
    bytes: frame(
      0x01,
      `{"type":"put_batch","id":9,"files":[{"name":"a.txt","size":0,"sha256":"${SHA}"},{"name":"d/b.bin","size":65536,"sha256":"${SHA}"}]}`,
    ),
  },
  {
    name: "batch_stored with a stored and a refused file",
    message: { type: "batch_stored", id: 9, results: [{ name: "a (1).txt", outcome: "renamed" }, { code: "BAD_NAME", message: "no" }] },
    bytes: frame(0x01, '{"type":"batch_stored","id":9,"results":[{"name":"a (1).txt","outcome":"renamed"},{"code":"BAD_NAME","message":"no"}]}'),
  },
  {
    name: "welcome with an authenticated user",
    message: {
      type: "welcome",
      version: 1,
      agent: "s",
      limits: { maxDataPayload: 65536, maxFileSize: 10 },
      capabilities: [],
      user: { name: "alice", permissions: ["read", "write"] },
    },
    bytes: frame(
      0x01,
      '{"type":"welcome","version":1,"agent":"s","limits":{"maxDataPayload":65536,"maxFileSize":10},"capabilities":[],"user":{"name":"alice","permissions":["read","write"]}}',
    ),
  },
  {
    name: "hello asking for BLAKE3 first",
    message: { type: "hello", version: 1, agent: "t", digests: ["blake3", "sha256"] },
    bytes: frame(0x01, '{"type":"hello","version":1,"agent":"t","digests":["blake3","sha256"]}'),
  },
  {
    name: "welcome choosing BLAKE3",
    message: { type: "welcome", version: 1, agent: "s", limits: { maxDataPayload: 65536, maxFileSize: 10 }, capabilities: [], digest: "blake3" },
    bytes: frame(0x01, '{"type":"welcome","version":1,"agent":"s","limits":{"maxDataPayload":65536,"maxFileSize":10},"capabilities":[],"digest":"blake3"}'),
  },
  {
    name: "listing with a file recorded by BLAKE3",
    message: { type: "listing", id: 7, entries: [{ name: "big.iso", size: 0, mtime: 5, sha256: null, blake3: BLAKE3 }], more: false },
    bytes: frame(0x01, `{"type":"listing","id":7,"entries":[{"name":"big.iso","size":0,"mtime":5,"sha256":null,"blake3":"${BLAKE3}"}],"more":false}`),
  },
  {
    name: "hello with a token",
    message: { type: "hello", version: 1, agent: "t", token: "s3cret" },
    bytes: frame(0x01, '{"type":"hello","version":1,"agent":"t","token":"s3cret"}'),
  },
  {
    name: "resumable put with a conflict policy",
    message: { type: "put", id: 2, name: "d/big.iso", size: 16777216, onConflict: "overwrite", resume: { key: "ab".repeat(16), chunkSize: 8388608 } },
    bytes: frame(
      0x01,
      `{"type":"put","id":2,"name":"d/big.iso","size":16777216,"onConflict":"overwrite","resume":{"key":"${"ab".repeat(16)}","chunkSize":8388608}}`,
    ),
  },
  {
    name: "put that keeps an identical stored file",
    message: { type: "put", id: 5, name: "same.txt", size: 4, skipIdentical: true },
    bytes: frame(0x01, '{"type":"put","id":5,"name":"same.txt","size":4,"skipIdentical":true}'),
  },
  {
    name: "stored, unchanged",
    message: { type: "stored", id: 5, name: "same.txt", size: 4, sha256: SHA, outcome: "unchanged" },
    bytes: frame(0x01, `{"type":"stored","id":5,"name":"same.txt","size":4,"sha256":"${SHA}","outcome":"unchanged"}`),
  },
  {
    name: "list with empty folders",
    message: { type: "list", id: 6, path: "photos", folders: true },
    bytes: frame(0x01, '{"type":"list","id":6,"path":"photos","folders":true}'),
  },
  {
    name: "listing with an empty folder entry",
    message: { type: "listing", id: 6, entries: [{ name: "photos/empty/", size: 0, mtime: 0, sha256: null }], more: false },
    bytes: frame(0x01, '{"type":"listing","id":6,"entries":[{"name":"photos/empty/","size":0,"mtime":0,"sha256":null}],"more":false}'),
  },
  {
    name: "put_offer",
    message: { type: "put_offer", id: 2, offset: 8388608, chunks: [SHA] },
    bytes: frame(0x01, `{"type":"put_offer","id":2,"offset":8388608,"chunks":["${SHA}"]}`),
  },
  { name: "put_from", message: { type: "put_from", id: 2, offset: 0 }, bytes: frame(0x01, '{"type":"put_from","id":2,"offset":0}') },
  {
    name: "stored with an outcome",
    message: { type: "stored", id: 2, name: "d/big.iso", size: 16777216, sha256: SHA, outcome: "overwritten" },
    bytes: frame(0x01, `{"type":"stored","id":2,"name":"d/big.iso","size":16777216,"sha256":"${SHA}","outcome":"overwritten"}`),
  },
  { name: "get", message: { type: "get", id: 3, name: "a.txt" }, bytes: frame(0x01, '{"type":"get","id":3,"name":"a.txt"}') },
  {
    name: "get with resume",
    message: { type: "get", id: 3, name: "a.txt", resume: { chunkSize: 8388608, chunks: [SHA, SHA] } },
    bytes: frame(0x01, `{"type":"get","id":3,"name":"a.txt","resume":{"chunkSize":8388608,"chunks":["${SHA}","${SHA}"]}}`),
  },
  {
    name: "get_begin resumed",
    message: { type: "get_begin", id: 3, name: "a.txt", size: 20000000, offset: 16777216 },
    bytes: frame(0x01, '{"type":"get_begin","id":3,"name":"a.txt","size":20000000,"offset":16777216}'),
  },
  {
    name: "get_end",
    message: { type: "get_end", id: 3, sha256: SHA },
    bytes: frame(0x01, `{"type":"get_end","id":3,"sha256":"${SHA}"}`),
  },
  { name: "list of a folder", message: { type: "list", id: 4, path: "photos" }, bytes: frame(0x01, '{"type":"list","id":4,"path":"photos"}') },
  {
    name: "listing page",
    message: {
      type: "listing",
      id: 4,
      entries: [
        { name: "photos/a.jpg", size: 5, mtime: 1700000000000, sha256: SHA },
        { name: "photos/b.jpg", size: 0, mtime: 0, sha256: null },
      ],
      more: true,
    },
    bytes: frame(
      0x01,
      `{"type":"listing","id":4,"entries":[{"name":"photos/a.jpg","size":5,"mtime":1700000000000,"sha256":"${SHA}"},{"name":"photos/b.jpg","size":0,"mtime":0,"sha256":null}],"more":true}`,
    ),
  },
  { name: "delete", message: { type: "delete", id: 5, name: "old.log" }, bytes: frame(0x01, '{"type":"delete","id":5,"name":"old.log"}') },
  { name: "deleted", message: { type: "deleted", id: 5, name: "old.log" }, bytes: frame(0x01, '{"type":"deleted","id":5,"name":"old.log"}') },
  {
    name: "error with a code this version does not know (carried, §8)",
    message: { type: "error", id: 6, code: "FROM_THE_FUTURE" as UnknownWireCode, message: "new" },
    bytes: frame(0x01, '{"type":"error","id":6,"code":"FROM_THE_FUTURE","message":"new"}'),
  },
  {
    name: "error without id",
    message: { type: "error", code: "BUSY", message: "server busy" },
    bytes: frame(0x01, '{"type":"error","code":"BUSY","message":"server busy"}'),
  },
  {
    name: "error with id",
    message: { type: "error", id: 2, code: "CHECKSUM_MISMATCH", message: "x" },
    bytes: frame(0x01, '{"type":"error","id":2,"code":"CHECKSUM_MISMATCH","message":"x"}'),
  },
];

export const DATA_VECTORS: { name: string; payload: Buffer; bytes: Buffer }[] = [
  { name: "empty data", payload: Buffer.alloc(0), bytes: Buffer.from([0x02, 0, 0, 0, 0]) },
  { name: "one byte", payload: Buffer.from([0xff]), bytes: Buffer.from([0x02, 0, 0, 0, 1, 0xff]) },
  {
    name: "binary with NUL and CR LF",
    payload: Buffer.from([0x00, 0x0d, 0x0a, 0x89, 0x46]),
    bytes: Buffer.from([0x02, 0, 0, 0, 5, 0x00, 0x0d, 0x0a, 0x89, 0x46]),
  },
  {
    name: "300 bytes (length needs two bytes)",
    payload: Buffer.alloc(300, 0xab),
    bytes: Buffer.concat([Buffer.from([0x02, 0, 0, 0x01, 0x2c]), Buffer.alloc(300, 0xab)]),
  },
];

