import { createInterface } from "node:readline/promises";
import { FerryClient, TlsTrustError } from "@ferry/client-core";
import { FerryError, type ClientConfig } from "@ferry/protocol";
import type { KnownHosts } from "./known-hosts.js";

export interface TrustOptions {
  knownHosts: KnownHosts;
  /** Remember an unknown server's certificate without asking (scripts; like ssh's accept-new). */
  acceptNew: boolean;
  /** Ask on the terminal whether to trust an unknown certificate. */
  ask: ((question: string) => Promise<boolean>) | null;
  /** Where warnings go (stderr). */
  warn: (line: string) => void;
}

/** The user (or known_hosts) refused the server's certificate; nothing was sent (exit 3). */
export class TrustRefused extends FerryError<"TLS_TRUST_REFUSED"> {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: "TLS_TRUST_REFUSED", ...options });
  }
}

/**
 * Connects, deciding TLS trust the SSH way. An explicit --fingerprint or --ca is used as given.
 * Otherwise a remembered fingerprint for host:port is pinned; with none, the chain is verified
 * against the system CAs, and a certificate no CA vouches for is shown to the user, remembered
 * when accepted, and pinned from then on. Returns the config later reconnections should use.
 */
export async function connectTrusted(config: ClientConfig, trust: TrustOptions, signal: AbortSignal): Promise<{ client: FerryClient; config: ClientConfig }> {
  const connected = await connectWithTrust(config, trust, signal);
  // --digest blake3 is an offer: a server (or this machine) without BLAKE3 checks with SHA-256, which is said once.
  if (connected.client.digest !== config.digest) {
    trust.warn(`--digest ${config.digest}: ${config.host}:${config.port} checks this connection's transfers with ${connected.client.digest} instead`);
  }
  return connected;
}

async function connectWithTrust(config: ClientConfig, trust: TrustOptions, signal: AbortSignal): Promise<{ client: FerryClient; config: ClientConfig }> {
  const tls = config.tls;
  if (!tls || tls.fingerprint !== undefined || tls.ca !== undefined) {
    return { client: await FerryClient.connect(config, { signal }), config };
  }
  const known = await trust.knownHosts.lookup(config.host, config.port);
  if (known) {
    const pinned = { ...config, tls: { ...tls, fingerprint: known } };
    try {
      return { client: await FerryClient.connect(pinned, { signal }), config: pinned };
    } catch (error) {
      if (error instanceof TlsTrustError && error.code === "TLS_FINGERPRINT_MISMATCH") {
        throw new TrustRefused(
          `WARNING: THE CERTIFICATE OF ${config.host}:${config.port} HAS CHANGED.\n` +
            `  remembered: ${known}\n  presented:  ${error.fingerprint}\n` +
            "Someone may be intercepting the connection, or the server's certificate was replaced.\n" +
            `Nothing was sent. If the change is expected, remove the line for ${config.host}:${config.port} from ${trust.knownHosts.file}.`,
        );
      }
      throw error;
    }
  }
  try {
    return { client: await FerryClient.connect(config, { signal }), config };
  } catch (error) {
    if (!(error instanceof TlsTrustError) || error.code !== "TLS_UNTRUSTED") throw error;
    const where = `${config.host}:${config.port}`;
    const intro = `The certificate of ${where} is not vouched for by any CA (${error.reason}).\nIts fingerprint is ${error.fingerprint}`;
    let accepted = trust.acceptNew;
    if (!accepted && trust.ask) {
      accepted = await trust.ask(`${intro}\nCompare it with the one ferry-server printed at start. Trust it and remember it? (yes/no) `);
    }
    if (!accepted) {
      throw new TrustRefused(
        `${intro}\nNot trusted, nothing sent. Check the fingerprint with the server's operator (ferry-server prints it at start), ` +
          "then run again with --fingerprint <it>, or --accept-new to remember it, or answer yes on a terminal.",
      );
    }
    await trust.knownHosts.remember(config.host, config.port, error.fingerprint);
    trust.warn(`remembered ${where} ${error.fingerprint} in ${trust.knownHosts.file}`);
    const pinned = { ...config, tls: { ...tls, fingerprint: error.fingerprint } };
    return { client: await FerryClient.connect(pinned, { signal }), config: pinned };
  }
}

/** A yes/no question on the terminal (stderr), for first contact with a self-signed server. */
export function terminalQuestion(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): (question: string) => Promise<boolean> {
  return async (question) => {
    const rl = createInterface({ input, output });
    try {
      return /^y(es)?$/i.test((await rl.question(question)).trim());
    } finally {
      rl.close();
    }
  };
}
