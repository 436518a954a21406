import { CAPABILITIES, type ShareInfo, type ShareKind } from "@ferry/protocol";
import { ClientError } from "./errors.js";
import { request } from "./requests.js";
import type { Wire } from "./wire.js";

/** What `share` asks for (protocol.md §4.6). */
export interface ShareOptions {
  kind: ShareKind;
  /** Download links: files and folders of yours; upload links: the one folder files are dropped into ("" for your root). */
  paths: string[];
  /** Seconds the link lives. */
  expiresIn: number;
  maxDownloads?: number;
  password?: string;
  maxBytes?: number;
  maxFiles?: number;
}

/** A link just made: its URL (the only place its secret is shown) and how the server describes it. */
export interface SharedLink {
  url: string;
  secret: string;
  link: ShareInfo;
}

/** Makes a share link on a server announcing "share". */
export async function share(wire: Wire, options: ShareOptions): Promise<SharedLink> {
  wire.require(CAPABILITIES.SHARE, "share links");
  return request<SharedLink>(
    wire,
    (id) => ({
      type: "share",
      id,
      kind: options.kind,
      paths: options.paths,
      expiresIn: options.expiresIn,
      ...(options.maxDownloads !== undefined ? { maxDownloads: options.maxDownloads } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
      ...(options.maxFiles !== undefined ? { maxFiles: options.maxFiles } : {}),
    }),
    {
      onMessage(message) {
        if (message.type !== "shared") throw new ClientError(`unexpected ${message.type} for a share`, { code: "PROTOCOL_ERROR" });
        return { kind: "done", value: { url: message.url, secret: message.secret, link: message.link } };
      },
    },
  );
}

/** My links, live, expired and used up, oldest first. */
export async function listShares(wire: Wire): Promise<ShareInfo[]> {
  wire.require(CAPABILITIES.SHARE, "share links");
  const links: ShareInfo[] = [];
  return request<ShareInfo[]>(wire, (id) => ({ type: "share_list", id }), {
    onMessage(message) {
      if (message.type !== "shares") throw new ClientError(`unexpected ${message.type} for a share list`, { code: "PROTOCOL_ERROR" });
      links.push(...message.links);
      return message.more ? { kind: "more" } : { kind: "done", value: links };
    },
  });
}

/** Withdraws one of my links, named by its secret (the URL's last part) or its fingerprint; returns the fingerprint. */
export async function revokeShare(wire: Wire, link: string): Promise<string> {
  wire.require(CAPABILITIES.SHARE, "share links");
  return request<string>(wire, (id) => ({ type: "share_revoke", id, link }), {
    onMessage(message) {
      if (message.type !== "share_revoked") throw new ClientError(`unexpected ${message.type} for a revoke`, { code: "PROTOCOL_ERROR" });
      return { kind: "done", value: message.fingerprint };
    },
  });
}
