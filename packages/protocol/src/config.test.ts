import { describe, expect, it } from "vitest";
import { ClientConfigSchema, ServerConfigSchema } from "./config.js";

describe("config schemas", () => {
  it("fill every server default from an empty object", () => {
    const config = ServerConfigSchema.parse({});
    expect(config).toMatchObject({ host: "127.0.0.1", port: 8080, raw: true, fsync: true });
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
