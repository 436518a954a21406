import { describe, expect, it } from "vitest";
import { ClientConfigSchema, ServerConfigSchema, checkServerConfig, isLoopbackHost } from "./config.js";

describe("config schemas", () => {
  it("fill every server default from an empty object", () => {
    const config = ServerConfigSchema.parse({});
    expect(config).toMatchObject({ host: "127.0.0.1", port: 8080, fsync: true, users: [], allowAnonymous: false });
    expect(config.maxClients).toBeGreaterThan(0);
  });

  it("reject unknown keys and out-of-range values", () => {
    expect(ServerConfigSchema.safeParse({ prot: 1 }).success).toBe(false);
    expect(ServerConfigSchema.safeParse({ port: 70000 }).success).toBe(false);
    expect(ServerConfigSchema.safeParse({ maxClients: 0 }).success).toBe(false);
    expect(ClientConfigSchema.safeParse({ chunkSize: 10 }).success).toBe(false);
  });

  it("accept port 0 for an ephemeral port", () => {
    expect(ServerConfigSchema.parse({ port: 0 }).port).toBe(0);
  });
});

describe("users in the server config", () => {
  const hash = "a".repeat(64);
  const user = { name: "alice", tokenSha256: hash, permissions: ["read", "write"] };

  it("accept a user with a folder and a quota", () => {
    const checked = checkServerConfig({ users: [{ ...user, dir: "team/alice", quotaBytes: 1024 }] });
    expect(checked.ok).toBe(true);
  });

  it.each([
    ["a folder that climbs out of the root", { ...user, dir: "../x" }],
    ["an absolute folder", { ...user, dir: "/etc" }],
    ["a token in clear instead of its hash", { ...user, tokenSha256: "secret" }],
    ["no permissions", { ...user, permissions: [] }],
    ["an unknown permission", { ...user, permissions: ["admin"] }],
    ["a name with a slash", { ...user, name: "a/b" }],
  ])("refuse %s", (_why, bad) => {
    expect(checkServerConfig({ users: [bad] }).ok).toBe(false);
  });

  it("refuse two users with one name or one token", () => {
    expect(checkServerConfig({ users: [user, { ...user, tokenSha256: "b".repeat(64) }] }).ok).toBe(false);
    expect(checkServerConfig({ users: [user, { ...user, name: "bob" }] }).ok).toBe(false);
  });
});

describe("isLoopbackHost", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.8.9.10", true],
    ["::1", true],
    ["localhost", true],
    ["::ffff:127.0.0.1", true],
    ["0.0.0.0", false],
    ["::", false],
    ["192.168.1.2", false],
    ["127.0.0.1.example.com", false],
  ])("%s → %s", (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
